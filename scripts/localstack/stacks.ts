/**
 * Deploys and destroys extra stacks on a running LocalStack from inside a process (a test's
 * beforeAll/afterAll), with the same toolkit-lib code `npm run localstack:deploy` uses: a test that
 * needs a stack built with other props (a variant of the pipeline, a fixture app) synthesizes it
 * into its own directory under its own stack name, so its buckets and queues never collide with
 * the main stack's, deploys it here and destroys it afterwards.
 */
import {
  type IIoHost,
  NonInteractiveIoHost,
  StackSelectionStrategy,
  type Toolkit,
} from '@aws-cdk/toolkit-lib';
import { assertBundled, openAssembly } from './assembly.js';
import { bootstrapEnvironment, localstackEnv } from './options.js';
import { bootstrap, DeployIoHost, localstackToolkit } from './toolkit.js';

export interface LocalstackStackOptions {
  /** e.g. http://127.0.0.1:4566 */
  readonly endpoint: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /**
   * Where the toolkit's progress goes. @default - errors and warnings only: a test's output
   * should not carry the event history of every resource, but a failed deploy still prints
   * its FAILED resources with their reasons
   */
  readonly ioHost?: IIoHost;
}

export interface DeployedStacks {
  /** Outputs of each deployed stack, by stack name (the `cdk deploy --outputs-file` shape). */
  readonly outputs: Record<string, Record<string, string>>;
  /** Seconds spent in bootstrap and deploy, for the caller to report. */
  readonly seconds: number;
}

/**
 * Runs `fn` with the process environment pointed at LocalStack, and puts it back afterwards.
 * toolkit-lib's SDK clients take the endpoint from the environment only (it has no endpoint
 * option), so the variables must be set while the toolkit works; restoring them keeps the rest
 * of the process (other SDK clients, a test's own) exactly as it was.
 */
const withLocalstackEnv = async <T>(
  o: Required<Pick<LocalstackStackOptions, 'endpoint' | 'region'>>,
  fn: () => Promise<T>
): Promise<T> => {
  const saved = { ...process.env };
  const env = localstackEnv(
    { ...o, outputsFile: '', reuseAssembly: true, assemblyDir: '' },
    process.env
  );
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
};

/** toolkit-lib's per-resource stack event (its host prints every one, whatever the log level). */
const STACK_ACTIVITY = 'CDK_TOOLKIT_I5502';

/** Warnings, errors and the FAILED resource events only: a test's output stays readable. */
const quietHost = (): IIoHost => {
  const inner = new DeployIoHost(new NonInteractiveIoHost({ logLevel: 'warn' }));
  return {
    notify: (msg) => {
      const status = (msg.data as { event?: { ResourceStatus?: string } } | undefined)?.event
        ?.ResourceStatus;
      if (msg.code === STACK_ACTIVITY && !status?.endsWith('FAILED')) return Promise.resolve();
      return inner.notify(msg);
    },
    requestResponse: (msg) => inner.requestResponse(msg),
  };
};

const withToolkit = <T>(
  options: LocalstackStackOptions,
  fn: (toolkit: Toolkit, region: string) => Promise<T>
) => {
  const region = options.region ?? 'us-east-1';
  return withLocalstackEnv({ endpoint: options.endpoint, region }, () =>
    fn(localstackToolkit(region, options.ioHost ?? quietHost()), region)
  );
};

/**
 * `cdk deploy <stackNames…> --concurrency <n>` of an already synthesized assembly (bundled, as
 * `app.synth()` writes it) to LocalStack, bootstrapping first (a no-op when current). The stacks
 * deploy concurrently: on LocalStack a deploy mostly waits on resource creation, so two stacks
 * take little longer than one.
 */
export const deployStacks = (
  assemblyDir: string,
  stackNames: readonly string[],
  options: LocalstackStackOptions
): Promise<DeployedStacks> =>
  withToolkit(options, async (toolkit, region) => {
    const t0 = performance.now();
    const assembly = await openAssembly(toolkit, assemblyDir, stackNames);
    try {
      for (const name of stackNames) assertBundled(assembly.cloudAssembly.directory, name);
      await bootstrap(
        toolkit,
        bootstrapEnvironment({
          region,
          endpoint: options.endpoint,
          outputsFile: '',
          reuseAssembly: true,
          assemblyDir,
        })
      );
      const result = await toolkit.deploy(assembly, {
        stacks: { strategy: StackSelectionStrategy.PATTERN_MUST_MATCH, patterns: [...stackNames] },
        concurrency: stackNames.length,
      });
      const outputs = Object.fromEntries(result.stacks.map((s) => [s.stackName, s.outputs]));
      const missing = stackNames.filter((n) => !(n in outputs));
      if (missing.length > 0) {
        throw new Error(`deploy to LocalStack reported no result for ${missing.join(', ')}`);
      }
      return { outputs, seconds: (performance.now() - t0) / 1000 };
    } finally {
      await assembly.dispose();
    }
  });

/**
 * `cdk destroy <stackNames…> --force`. Buckets with RETAIN (the pipeline's default) stay behind
 * in LocalStack; their CloudFormation-generated names carry the stack name and a random suffix,
 * so a later deploy of the same stack name does not collide with them.
 */
export const destroyStacks = (
  assemblyDir: string,
  stackNames: readonly string[],
  options: LocalstackStackOptions
): Promise<void> =>
  withToolkit(options, async (toolkit) => {
    const assembly = await openAssembly(toolkit, assemblyDir, stackNames);
    try {
      await toolkit.destroy(assembly, {
        stacks: { strategy: StackSelectionStrategy.PATTERN_MUST_MATCH, patterns: [...stackNames] },
        concurrency: stackNames.length,
      });
    } finally {
      await assembly.dispose();
    }
  });
