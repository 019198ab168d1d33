import path from 'node:path';
import { Command } from 'commander';
import { ROOT, synthesize } from '../../scripts/synth.js';
import { assertPortFree, inputsHash, recordInputs, staleReason } from './freshness.js';
import { consoleLogger, LocalRuntimeError, startLocalRuntime } from './index.js';
import { readableLogger } from './log-format.js';

const program = new Command()
  .name('local-runtime')
  .description('Run a synthesized CDK cloud assembly locally (no Docker, no AWS account)')
  .option('-a, --assembly <dir>', 'cloud assembly directory', 'cdk.out')
  .option('-s, --stack <name>', 'stack name (needed if the assembly has several)')
  .option('-p, --port <port>', 'port for the single endpoint', '4566')
  .option('-r, --region <region>', 'region (default: AWS_REGION or us-east-1)')
  .option(
    '-o, --outputs-file <file>',
    'write stack outputs like cdk deploy --outputs-file',
    '.local/outputs.json'
  )
  .option('--parameters <k=v...>', 'template parameter values')
  .option(
    '--raw-logs',
    "print the functions' log lines as they wrote them (JSON, metrics, warnings)"
  )
  .option(
    '--allow-partial',
    'start even if a state machine uses a feature the runtime cannot run (that one refuses executions)'
  )
  .option(
    '--synth',
    'synthesize the app into cdk.out first, only if its inputs changed (checks the port first)'
  )
  .parse();

const opts = program.opts<{
  assembly: string;
  stack?: string;
  port: string;
  region?: string;
  outputsFile: string;
  parameters?: string[];
  synth?: boolean;
  rawLogs?: boolean;
  allowPartial?: boolean;
}>();

try {
  if (opts.synth) {
    const assemblyDir = path.join(ROOT, 'cdk.out');
    if (path.resolve(opts.assembly) !== assemblyDir) {
      throw new LocalRuntimeError(`--synth writes ${assemblyDir}; drop --assembly or --synth`);
    }
    await assertPortFree(Number(opts.port), process.env.LOCAL_BIND_HOST || '127.0.0.1');
    const reason = staleReason(ROOT, assemblyDir);
    if (reason) {
      console.log(`[local] synthesizing: ${reason}`);
      const hash = inputsHash(ROOT);
      synthesize();
      recordInputs(assemblyDir, hash);
    } else {
      console.log('[local] cdk.out is current (inputs unchanged): not synthesizing');
    }
  }
  const runtime = await startLocalRuntime({
    assemblyDir: opts.assembly,
    stackName: opts.stack,
    port: Number(opts.port),
    region: opts.region,
    outputsFile: opts.outputsFile,
    parameters: Object.fromEntries(
      (opts.parameters ?? []).map((p) => p.split(/=(.*)/s, 2) as [string, string])
    ),
    allowPartial: opts.allowPartial,
    logger: opts.rawLogs ? consoleLogger : readableLogger(consoleLogger),
  });
  console.log(`[local] outputs written to ${opts.outputsFile}:`);
  for (const [k, v] of Object.entries(runtime.outputs)) console.log(`  ${k} = ${v}`);
  console.log(
    `[local] use: export AWS_ENDPOINT_URL=${runtime.endpoint} AWS_REGION=${runtime.region} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[local] ${signal}: stopping`);
    runtime.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      }
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (err) {
  if (err instanceof LocalRuntimeError) {
    console.error(`[local] ${err.name}: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
