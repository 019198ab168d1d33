#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { describeError, effectiveEndpoint } from '../../cli/src/index.js';
import { type ConsoleOptions, startConsole } from './start.js';

/**
 * `npm run console`: a local web page over one deployed stack, found the way
 * the CLI finds it; the local runtime's outputs file by default.
 */

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('--port must be an integer 0..65535');
  return n;
};

const opts = new Command('console')
  .description('Serve a local web console for the video pipeline')
  .option('--port <port>', 'port to listen on (0: any free port)', port, 4580)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option(
    '--outputs <file>',
    'stack outputs JSON (default: .local/outputs.json, then cdk-outputs.json)'
  )
  .option('--stack <name>', 'stack in the outputs file')
  .option('--endpoint-url <url>', 'endpoint for all AWS clients (default: AWS_ENDPOINT_URL)')
  .option('--region <region>', 'AWS region')
  .option('--profile <name>', 'AWS shared-config profile')
  .parse()
  .opts<ConsoleOptions>();

try {
  const running = await startConsole(opts);
  console.log(
    `[console] ${running.outputs.stackName} at ${running.endpoint ?? 'AWS'} (from ${running.outputs.file})`
  );
  console.log(`[console] open ${running.url}`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  const message =
    (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? `port ${opts.port} is in use: pass --port <n> (or --port 0 for any free port)`
      : describeError(err, effectiveEndpoint(opts));
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}
