#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import {
  type AwsOptions,
  createClients,
  describeError,
  effectiveEndpoint,
} from '../../cli/src/aws.js';
import { loadStackOutputs } from '../../cli/src/config.js';
import { buildAssets } from './assets.js';
import { createSqsClient, queueUrlsOf } from './data.js';
import { createConsoleServer } from './server.js';

/**
 * `npm run console`: a local web page over one deployed stack. The target is
 * found exactly as the CLI finds it (outputs file, then AWS_ENDPOINT_URL or
 * --endpoint-url, profile); the local runtime's outputs file by default.
 */

interface Options extends AwsOptions {
  outputs?: string;
  stack?: string;
  port: number;
  host: string;
}

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('--port must be 0..65535');
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
  .opts<Options>();

try {
  const outputs = loadStackOutputs({ outputsFile: opts.outputs, stack: opts.stack });
  if (!effectiveEndpoint(opts) && outputs.localEndpoint) opts.endpointUrl = outputs.localEndpoint;
  const clients = createClients(opts, outputs.stateMachineArn);
  const target = {
    outputs,
    clients,
    sqs: createSqsClient(opts, outputs.stateMachineArn),
    queues: queueUrlsOf(outputs.file, outputs.stackName),
  };
  const server = createConsoleServer(target, await buildAssets());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : opts.port;
  console.log(
    `[console] ${outputs.stackName} at ${clients.endpoint ?? 'AWS'} (from ${outputs.file})`
  );
  console.log(`[console] open http://${opts.host}:${bound}`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  const message =
    code === 'EADDRINUSE'
      ? `port ${opts.port} is in use: pass --port <n> (or --port 0 for any free port)`
      : describeError(err, effectiveEndpoint(opts));
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}
