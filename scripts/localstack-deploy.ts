/**
 * `npm run localstack:deploy`: deploys the synthesized stack, unchanged, to LocalStack.
 *
 *   1. checks that LocalStack answers at the endpoint with the services the stack needs;
 *   2. `cdk synth --quiet` into cdk.out (skip with --reuse-assembly);
 *   3. opens the assembly with the CDK toolkit library (holding the CDK reader lock on it) and
 *      refuses one synthesized with bundling skipped;
 *   4. bootstraps aws://000000000000/<region> (a no-op when the CDKToolkit stack is current);
 *   5. deploys the stack from that assembly and writes `.localstack/outputs.json` in the
 *      `cdk deploy --outputs-file` shape, so LocalStack gets exactly the AWS template.
 *
 * Options: --reuse-assembly (or LOCALSTACK_REUSE_ASSEMBLY=1), --region <r> (default AWS_REGION or
 * us-east-1). Environment: LOCALSTACK_ENDPOINT (default http://127.0.0.1:4566),
 * LOCALSTACK_OUTPUTS_FILE (default .localstack/outputs.json), LOCALSTACK_ASSEMBLY_DIR (default
 * cdk.out; use a private directory when other processes synthesize into cdk.out concurrently).
 * On failure it exits non-zero and prints CloudFormation's FAILED stack events.
 */
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolkitError } from '@aws-cdk/toolkit-lib';
import { STACK_NAME } from '../contract/stack.js';
import { assertBundled, openAssembly } from './localstack/assembly.js';
import { DeployError } from './localstack/errors.js';
import { checkHealth, versionWarning } from './localstack/health.js';
import {
  bootstrapEnvironment,
  type DeployOptions,
  defaultOptions,
  localstackEnv,
  synthArgs,
} from './localstack/options.js';
import { bootstrap, DeployIoHost, deployStack, localstackToolkit } from './localstack/toolkit.js';
import { LOCALSTACK_VERSION, REPO_ROOT } from './project.js';

const log = (m: string) => console.log(`[localstack:deploy] ${m}`);

const timed = async <T>(label: string, timings: Array<[string, number]>, fn: () => Promise<T>) => {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings.push([label, (performance.now() - t0) / 1000]);
  }
};

const synth = (o: DeployOptions, env: NodeJS.ProcessEnv) => {
  const args = synthArgs(o);
  log(`$ npx ${args.join(' ')}`);
  // Synthesis is offline and target-independent: the caller's environment, a bound so a hung CLI
  // fails CI instead of blocking it.
  const r = spawnSync('npx', args, {
    cwd: REPO_ROOT,
    env: { ...env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    stdio: 'inherit',
    timeout: 30 * 60_000,
  });
  if (r.status !== 0) throw new DeployError(`cdk synth failed (exit ${r.status ?? r.signal})`);
};

const RESTART_HINT = [
  `  If the stack is left in a *_FAILED state: LocalStack ${LOCALSTACK_VERSION} cannot always delete`,
  '  a half-created stack (DELETE_FAILED "No deployed instances of resource ... were found").',
  '  Its state is in memory, so restart it for a clean slate:',
  '    host:   bash localstack-executor/stop.sh && npm run localstack:host -- --background',
  '    Docker: docker compose restart localstack',
].join('\n');

export const main = async (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => {
  const timings: Array<[string, number]> = [];
  const t0 = performance.now();
  try {
    let o: DeployOptions;
    try {
      o = defaultOptions(argv, env);
    } catch (err) {
      throw new DeployError(
        `${(err as Error).message}\n  usage: npm run localstack:deploy -- [--reuse-assembly] [--region <region>]`
      );
    }

    const health = await timed('health', timings, () => checkHealth(o.endpoint));
    log(`LocalStack ${health.version ?? '?'} at ${o.endpoint}, region ${o.region}`);
    const warning = versionWarning(health);
    if (warning) console.warn(`[localstack:deploy] warning: ${warning}`);

    const assemblyDir = resolve(REPO_ROOT, o.assemblyDir);
    if (o.reuseAssembly) log(`reusing the existing ${o.assemblyDir}/ (--reuse-assembly)`);
    else await timed('synth', timings, async () => synth(o, env));

    // toolkit-lib's SDK clients take the endpoint from the process environment only.
    const deployEnv = localstackEnv(o, env);
    for (const k of Object.keys(process.env)) if (!(k in deployEnv)) delete process.env[k];
    Object.assign(process.env, deployEnv);
    const toolkit = localstackToolkit(o.region, new DeployIoHost());
    const assembly = await openAssembly(toolkit, assemblyDir);
    try {
      assertBundled(assembly.cloudAssembly.directory);
      await timed('bootstrap', timings, () => bootstrap(toolkit, bootstrapEnvironment(o)));
      const outputsFile = resolve(REPO_ROOT, o.outputsFile);
      try {
        await timed('deploy', timings, () => deployStack(toolkit, assembly, outputsFile));
      } catch (err) {
        // The toolkit has printed the FAILED resources with their reasons above.
        throw new DeployError(`${(err as Error).message}\n${RESTART_HINT}`);
      }
      log(`${STACK_NAME} deployed; outputs in ${relative(process.cwd(), outputsFile)}`);
    } finally {
      await assembly.dispose();
    }
    return 0;
  } catch (err) {
    // Our own and the toolkit's errors say what went wrong; anything else needs its stack trace.
    const expected = err instanceof DeployError || ToolkitError.isToolkitError(err);
    console.error(`\n[localstack:deploy] ERROR: ${expected ? (err as Error).message : err}`);
    if (!expected) console.error((err as Error).stack);
    return 1;
  } finally {
    timings.push(['total', (performance.now() - t0) / 1000]);
    log(`timings: ${timings.map(([k, s]) => `${k} ${s.toFixed(1)} s`).join(', ')}`);
  }
};

const invokedDirectly = () => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (invokedDirectly()) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
