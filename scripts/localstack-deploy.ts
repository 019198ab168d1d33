/**
 * `npm run localstack:deploy`: deploys the synthesized stack, unchanged, to LocalStack.
 *
 *   1. checks that LocalStack answers at the endpoint (host or Docker, same port);
 *   2. `cdk synth --quiet` into cdk.out (skip with --reuse-assembly);
 *   3. `cdk bootstrap aws://000000000000/<region>` unless the CDKToolkit stack exists;
 *   4. `cdk deploy --app cdk.out VideoPipeline --outputs-file .localstack/outputs.json`,
 *      so the deployed artifact is exactly the synthesized cloud assembly (no LocalStack flavour).
 *
 * Options: --reuse-assembly (or LOCALSTACK_REUSE_ASSEMBLY=1), --region <r> (default AWS_REGION or
 * us-east-1). Environment: LOCALSTACK_ENDPOINT (default http://127.0.0.1:4566),
 * LOCALSTACK_OUTPUTS_FILE (default .localstack/outputs.json), LOCALSTACK_ASSEMBLY_DIR (default
 * cdk.out; use a private directory when other processes synthesize into cdk.out concurrently,
 * since `cdk synth` replaces the asset directories a running deploy is still zipping).
 * On failure it exits non-zero and prints CloudFormation's FAILED stack events.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(import.meta.dirname, '..');
export const STACK_NAME = 'VideoPipeline';
/** Where `cdk synth` writes the cloud assembly that gets deployed (cdk's default). */
export const DEFAULT_ASSEMBLY_DIR = 'cdk.out';
export const LOCALSTACK_ACCOUNT = '000000000000';
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';
export const DEFAULT_OUTPUTS_FILE = '.localstack/outputs.json';
/** What the stack and `cdk bootstrap` need from LocalStack. */
export const REQUIRED_SERVICES = [
  'cloudformation',
  'iam',
  'kms',
  'lambda',
  'logs',
  's3',
  'sns',
  'sqs',
  'ssm',
  'stepfunctions',
  'sts',
];

export interface DeployOptions {
  readonly endpoint: string;
  readonly region: string;
  /** Relative to the repo root (cdk runs there). */
  readonly outputsFile: string;
  readonly reuseAssembly: boolean;
  /** Cloud assembly directory, relative to the repo root. */
  readonly assemblyDir: string;
}

export const defaultOptions = (
  argv: readonly string[] = [],
  env: NodeJS.ProcessEnv = {}
): DeployOptions => {
  const regionAt = argv.indexOf('--region');
  return {
    endpoint: (env.LOCALSTACK_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    region:
      (regionAt >= 0 ? argv[regionAt + 1] : undefined) ??
      env.AWS_REGION ??
      env.AWS_DEFAULT_REGION ??
      'us-east-1',
    outputsFile: env.LOCALSTACK_OUTPUTS_FILE ?? DEFAULT_OUTPUTS_FILE,
    reuseAssembly: argv.includes('--reuse-assembly') || env.LOCALSTACK_REUSE_ASSEMBLY === '1',
    assemblyDir: env.LOCALSTACK_ASSEMBLY_DIR ?? DEFAULT_ASSEMBLY_DIR,
  };
};

/** Arguments after `npx`: the pinned CLI synthesizes the app exactly as for AWS. */
export const synthArgs = (o: DeployOptions): string[] => [
  'cdk',
  'synth',
  '--quiet',
  '--output',
  o.assemblyDir,
  '--no-notices',
];

/**
 * `--app <assembly>`: with an app command from cdk.json, `cdk bootstrap` would re-synthesize into
 * cdk.out (a writer); reading the assembly just synthesized is faster and keeps it unchanged.
 */
export const bootstrapArgs = (o: DeployOptions): string[] => [
  'cdk',
  'bootstrap',
  `aws://${LOCALSTACK_ACCOUNT}/${o.region}`,
  '--app',
  o.assemblyDir,
  '--no-notices',
];

/**
 * Arguments after `npx` for the deploy. `--app cdk.out` deploys the cloud assembly that
 * `cdk synth` wrote, not a re-synthesis, so LocalStack gets byte-for-byte the AWS template.
 */
export const deployArgs = (o: DeployOptions): string[] => [
  'cdk',
  'deploy',
  '--app',
  o.assemblyDir,
  STACK_NAME,
  '--require-approval',
  'never',
  '--outputs-file',
  o.outputsFile,
  '--progress',
  'events',
  '--no-notices',
];

/**
 * The environment for the CDK CLI: every AWS call goes to LocalStack with its test
 * credentials. Profiles and session tokens are dropped so real credentials never mix in.
 */
export const localstackEnv = (o: DeployOptions, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_ROLE_ARN'])
    delete env[k];
  return {
    ...env,
    AWS_ENDPOINT_URL: o.endpoint,
    AWS_ENDPOINT_URL_S3: o.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: o.region,
    AWS_DEFAULT_REGION: o.region,
    CDK_DEFAULT_ACCOUNT: LOCALSTACK_ACCOUNT,
    CDK_DEFAULT_REGION: o.region,
    // Offline-safe: no notices download, no telemetry upload.
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
};

/**
 * File assets of an assembly that point outside it. `cdk synth` stages every bundled asset
 * inside the assembly (`asset.<hash>/`); an assembly written with bundling skipped (`cdk ls`,
 * `cdk diff`, `cdk destroy` into the same directory) points at the raw sources instead, e.g.
 * the whole repo for each NodejsFunction and the npm package directory for the ffmpeg layer,
 * whose custom asset hash is the same as the bundled one. Publishing that uploads the wrong
 * layer under the right key, and later correct deploys skip the upload because the key exists.
 */
export const unstagedAssets = (
  assetsManifest: { files?: Record<string, { displayName?: string; source?: { path?: string } }> },
  assemblyDir: string
): string[] =>
  Object.entries(assetsManifest.files ?? {})
    .filter(([, f]) => {
      const p = f.source?.path ?? '';
      if (isAbsolute(p)) return true;
      const rel = relative(resolve(assemblyDir), resolve(assemblyDir, p));
      return rel === '' || rel.startsWith('..');
    })
    .map(([hash, f]) => `${f.displayName ?? hash} -> ${f.source?.path}`);

class DeployError extends Error {}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Holds a CDK CLI reader lock on the assembly (`read.<pid>.<n>.lock`, the protocol of the CLI's
 * own RWLock) from the check until the deploy ends, so a concurrent `cdk synth`/`cdk ls` into the
 * same directory refuses ("Other CLIs ... are currently reading") instead of swapping the
 * assembly under the deploy. Returns the release function.
 */
export const holdAssembly = (assemblyDir: string): (() => void) => {
  const writerFile = resolve(assemblyDir, 'synth.lock');
  if (existsSync(writerFile)) {
    const writer = Number.parseInt(readFileSync(writerFile, 'utf8'), 10);
    if (Number.isInteger(writer) && alive(writer)) {
      throw new DeployError(
        `another CDK CLI (pid ${writer}) is synthesizing into ${assemblyDir}; retry when it is done, ` +
          'or set LOCALSTACK_ASSEMBLY_DIR to a directory nothing else writes'
      );
    }
  }
  const readerFile = resolve(assemblyDir, `read.${process.pid}.localstack-deploy.lock`);
  writeFileSync(readerFile, String(process.pid));
  return () => rmSync(readerFile, { force: true });
};

// ---- LocalStack HTTP helpers (no CloudFormation SDK client in the dependencies) ---------------

const health = async (endpoint: string) => {
  const res = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()) as { version?: string; services?: Record<string, string> };
};

/**
 * A CloudFormation query-API call with a JSON response. LocalStack does not verify
 * signatures; it only reads the region and access key from the Authorization header.
 */
const cfn = async <T>(o: DeployOptions, action: string, params: Record<string, string>) => {
  const date = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const res = await fetch(`${o.endpoint}/`, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=test/${date}/${o.region}/cloudformation/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: '2010-05-15', ...params }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as Record<string, Record<string, unknown>>;
  if (!res.ok) {
    const err = (body.ErrorResponse?.Error ?? {}) as { Code?: string; Message?: string };
    throw Object.assign(new Error(err.Message ?? `HTTP ${res.status}`), { code: err.Code });
  }
  return body[`${action}Response`]?.[`${action}Result`] as T;
};

/** The query protocol's JSON mirrors the XML: a list is `{member: item | item[]}` (or null). */
const members = <T>(list: unknown): T[] => {
  if (list == null) return [];
  if (Array.isArray(list)) return list as T[];
  const m = (list as { member?: T | T[] }).member;
  return m == null ? [] : Array.isArray(m) ? m : [m];
};

interface StackEvent {
  Timestamp?: string | number;
  LogicalResourceId?: string;
  ResourceType?: string;
  ResourceStatus?: string;
  ResourceStatusReason?: string;
}

export const stackStatus = async (o: DeployOptions, stackName: string) => {
  try {
    const r = await cfn<{ Stacks: unknown }>(o, 'DescribeStacks', { StackName: stackName });
    return members<{ StackStatus?: string }>(r?.Stacks)[0]?.StackStatus;
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) return undefined;
    throw err;
  }
};

const failedEvents = async (o: DeployOptions, stackName: string): Promise<StackEvent[]> => {
  const events: StackEvent[] = [];
  let next: string | undefined;
  do {
    const r = await cfn<{ StackEvents: unknown; NextToken?: string }>(o, 'DescribeStackEvents', {
      StackName: stackName,
      ...(next ? { NextToken: next } : {}),
    });
    events.push(...members<StackEvent>(r?.StackEvents));
    next = r?.NextToken;
  } while (next);
  return events.filter((e) => e.ResourceStatus?.endsWith('FAILED')).reverse();
};

// ---- main --------------------------------------------------------------------------------------

const run = (
  label: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timings: Array<[string, number]>
) => {
  console.log(`\n[localstack:deploy] $ npx ${args.join(' ')}`);
  const t0 = performance.now();
  // A bound, so a hung CLI fails the run instead of blocking CI forever.
  const r = spawnSync('npx', args, { cwd: ROOT, env, stdio: 'inherit', timeout: 30 * 60_000 });
  const seconds = (performance.now() - t0) / 1000;
  timings.push([label, seconds]);
  console.log(
    `[localstack:deploy] ${label}: ${seconds.toFixed(1)} s (exit ${r.status ?? r.signal})`
  );
  return r.status === 0;
};

const printFailures = async (o: DeployOptions, stackName: string) => {
  try {
    const events = await failedEvents(o, stackName);
    if (events.length === 0) {
      console.error(`[localstack:deploy] no FAILED events recorded for ${stackName}`);
      return;
    }
    console.error(
      `[localstack:deploy] CloudFormation FAILED events of ${stackName} (oldest first):`
    );
    for (const e of events) {
      console.error(
        `  ${e.ResourceStatus} ${e.LogicalResourceId} (${e.ResourceType}): ${e.ResourceStatusReason ?? '(no reason)'}`
      );
    }
  } catch (err) {
    console.error(
      `[localstack:deploy] could not read the stack events of ${stackName}: ${(err as Error).message}`
    );
  }
};

export const main = async (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => {
  const o = defaultOptions(argv, env);
  const childEnv = localstackEnv(o, env);
  const timings: Array<[string, number]> = [];
  const t0 = performance.now();
  let release = () => {};
  try {
    // 1. LocalStack up?
    let h: Awaited<ReturnType<typeof health>>;
    try {
      h = await health(o.endpoint);
    } catch (err) {
      throw new DeployError(
        `no LocalStack answers at ${o.endpoint}/_localstack/health (${(err as Error).message}).\n` +
          '  Start one first:\n' +
          '    without Docker: npm run localstack:setup && npm run localstack:host -- --background\n' +
          '    with Docker:    docker compose up -d   (image localstack/localstack:4.14.0)'
      );
    }
    const down = REQUIRED_SERVICES.filter(
      (s) => !['available', 'running'].includes(h.services?.[s] ?? '')
    );
    if (down.length > 0) {
      throw new DeployError(
        `LocalStack at ${o.endpoint} does not offer ${down.map((s) => `${s}=${h.services?.[s] ?? 'missing'}`).join(', ')}; ` +
          'start it with these services enabled (SERVICES / LOCALSTACK_SERVICES).'
      );
    }
    console.log(
      `[localstack:deploy] LocalStack ${h.version ?? '?'} at ${o.endpoint}, region ${o.region}`
    );
    if (h.version && !h.version.startsWith('4.14.0')) {
      console.warn(
        `[localstack:deploy] warning: tested with LocalStack 4.14.0, this is ${h.version}`
      );
    }

    // 2. Synthesize (the same cloud assembly `cdk deploy` to AWS uses).
    const assembly = resolve(ROOT, o.assemblyDir);
    if (o.reuseAssembly && existsSync(resolve(assembly, 'manifest.json'))) {
      console.log(`[localstack:deploy] reusing the existing ${o.assemblyDir}/ (--reuse-assembly)`);
    } else {
      if (o.reuseAssembly)
        console.log(`[localstack:deploy] no ${o.assemblyDir}/ to reuse; synthesizing`);
      // Synthesis is offline and target-independent: it runs with the caller's environment.
      if (!run('synth', synthArgs(o), { ...env, CDK_DISABLE_CLI_TELEMETRY: 'true' }, timings)) {
        throw new DeployError('cdk synth failed (see its output above)');
      }
    }

    release = holdAssembly(assembly);
    const assetsFile = resolve(assembly, `${STACK_NAME}.assets.json`);
    if (!existsSync(assetsFile))
      throw new DeployError(`${assetsFile} is missing: is this a cloud assembly?`);
    const unstaged = unstagedAssets(JSON.parse(readFileSync(assetsFile, 'utf8')), assembly);
    if (unstaged.length > 0) {
      throw new DeployError(
        `${o.assemblyDir}/ was synthesized with bundling skipped (by cdk ls/diff/destroy, or another ` +
          `process writing into it); its assets point outside the assembly:\n    ${unstaged.join('\n    ')}\n` +
          '  Re-run without --reuse-assembly, or set LOCALSTACK_ASSEMBLY_DIR to a directory nothing else writes.'
      );
    }

    // 3. Bootstrap once per LocalStack instance (state is lost when LocalStack restarts).
    const toolkit = await stackStatus(o, 'CDKToolkit');
    if (toolkit && /_COMPLETE$/.test(toolkit) && !/ROLLBACK|DELETE/.test(toolkit)) {
      console.log(`[localstack:deploy] already bootstrapped (CDKToolkit ${toolkit})`);
    } else if (!run('bootstrap', bootstrapArgs(o), childEnv, timings)) {
      await printFailures(o, 'CDKToolkit');
      throw new DeployError(`cdk bootstrap aws://${LOCALSTACK_ACCOUNT}/${o.region} failed`);
    }

    // 4. Deploy the assembly as it is.
    mkdirSync(dirname(resolve(ROOT, o.outputsFile)), { recursive: true });
    const before = await stackStatus(o, STACK_NAME);
    const label = before ? 'deploy (stack exists)' : 'deploy (create)';
    if (!run(label, deployArgs(o), childEnv, timings)) {
      await printFailures(o, STACK_NAME);
      const status = await stackStatus(o, STACK_NAME).catch(() => undefined);
      throw new DeployError(
        `cdk deploy ${STACK_NAME} to LocalStack failed${status ? ` (stack ${status})` : ''}` +
          (status && /FAILED$/.test(status)
            ? '.\n  LocalStack 4.14.0 cannot always delete a half-created stack (DELETE_FAILED "No deployed ' +
              'instances of resource ... were found"). Its state is in memory, so restart it for a clean slate:\n' +
              '    host:   bash localstack-executor/stop.sh && npm run localstack:host -- --background\n' +
              '    Docker: docker compose restart localstack'
            : '')
      );
    }
    const after = await stackStatus(o, STACK_NAME);
    console.log(
      `\n[localstack:deploy] ${STACK_NAME} ${after}; outputs in ${relative(process.cwd(), resolve(ROOT, o.outputsFile)) || o.outputsFile}`
    );
    return 0;
  } catch (err) {
    console.error(`\n[localstack:deploy] ERROR: ${(err as Error).message}`);
    return 1;
  } finally {
    release();
    timings.push(['total', (performance.now() - t0) / 1000]);
    console.log(
      `[localstack:deploy] timings: ${timings.map(([k, s]) => `${k} ${s.toFixed(1)} s`).join(', ')}`
    );
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
