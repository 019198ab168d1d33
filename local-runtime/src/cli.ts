import path from 'node:path';
import { Command } from 'commander';
import { assertPortFree } from './freshness.js';
import { consoleLogger, LocalRuntimeError, startLocalRuntime } from './index.js';
import { readableLogger } from './log-format.js';
import { ASSEMBLY_DIR, ensureAssembly } from './synth.js';

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
    '--state-dir <dir>',
    'keep S3 (buckets, objects) in <dir> across restarts; queues and executions are not kept'
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
  stateDir?: string;
  allowPartial?: boolean;
}>();

try {
  if (opts.synth) {
    if (path.resolve(opts.assembly) !== ASSEMBLY_DIR) {
      throw new LocalRuntimeError(`--synth writes ${ASSEMBLY_DIR}; drop --assembly or --synth`);
    }
    await assertPortFree(Number(opts.port), process.env.LOCAL_BIND_HOST || '127.0.0.1');
    await ensureAssembly({ log: (line) => console.log(`[local] ${line}`) });
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
    stateDir: opts.stateDir,
  });
  if (opts.stateDir) console.log(`[local] S3 is kept in ${opts.stateDir} (--state-dir)`);
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
