import { parseArgs } from 'node:util';
import { EMULATOR_ACCOUNT_ID } from '../project.js';

/** Where `cdk synth` writes the cloud assembly that gets deployed (cdk's default). */
export const DEFAULT_ASSEMBLY_DIR = 'cdk.out';
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';
/** Read by the LocalStack e2e setup and the CLI's `--outputs` examples in the README. */
export const DEFAULT_OUTPUTS_FILE = '.localstack/outputs.json';

export interface DeployOptions {
  readonly endpoint: string;
  readonly region: string;
  /** Relative to the repo root. */
  readonly outputsFile: string;
  readonly reuseAssembly: boolean;
  /** Cloud assembly directory, relative to the repo root. */
  readonly assemblyDir: string;
  /** `--app` command of the synth (e.g. the e2e suite's app). @default - cdk.json's (bin/app.ts) */
  readonly app?: string;
}

/**
 * Command line and environment → options. Unknown flags are an error rather than ignored, so a
 * typo such as `--reuse-asembly` cannot silently trigger a fresh synth.
 */
export const defaultOptions = (
  argv: readonly string[] = [],
  env: NodeJS.ProcessEnv = {}
): DeployOptions => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'reuse-assembly': { type: 'boolean', default: false },
      region: { type: 'string' },
      app: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(values.region)) {
    throw new Error(`--region ${JSON.stringify(values.region)} is not an AWS region name`);
  }
  return {
    ...(values.app !== undefined && { app: values.app }),
    endpoint: (env.LOCALSTACK_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    region: values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    outputsFile: env.LOCALSTACK_OUTPUTS_FILE ?? DEFAULT_OUTPUTS_FILE,
    reuseAssembly: values['reuse-assembly'] === true || env.LOCALSTACK_REUSE_ASSEMBLY === '1',
    assemblyDir: env.LOCALSTACK_ASSEMBLY_DIR ?? DEFAULT_ASSEMBLY_DIR,
  };
};

/** The one environment LocalStack's CDK bootstrap goes to. */
export const bootstrapEnvironment = (o: DeployOptions) =>
  `aws://${EMULATOR_ACCOUNT_ID}/${o.region}`;

/** Arguments after `npx`: the pinned CLI synthesizes the app exactly as for AWS. */
export const synthArgs = (o: DeployOptions): string[] => [
  'cdk',
  'synth',
  '--quiet',
  '--output',
  o.assemblyDir,
  '--no-notices',
  ...(o.app === undefined ? [] : ['--app', o.app]),
];

/**
 * The environment the toolkit's AWS SDK clients read: every call goes to LocalStack with its test
 * credentials. Profiles and session tokens are dropped so real credentials never mix in. The SDK
 * takes a configured endpoint only from `AWS_ENDPOINT_URL*` (toolkit-lib has no endpoint option);
 * an IP endpoint also makes S3 use path-style addressing, so no public DNS is needed.
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
    CDK_DEFAULT_ACCOUNT: EMULATOR_ACCOUNT_ID,
    CDK_DEFAULT_REGION: o.region,
  };
};
