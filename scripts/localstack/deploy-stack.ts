import { readFileSync } from 'node:fs';
import { StackSelectionStrategy } from '@aws-cdk/toolkit-lib';
import { bootstrapEnvironment, localstackEnv } from './options.js';
import { bootstrap, DeployIoHost, localstackToolkit } from './toolkit.js';

export interface DeployStackOptions {
  /** LocalStack's endpoint, e.g. http://127.0.0.1:4566. */
  readonly endpoint: string;
  readonly region: string;
  /** A synthesized (bundled) cloud assembly. */
  readonly assemblyDir: string;
  /** The stack to deploy from it. */
  readonly stackName: string;
  /** Where the `cdk deploy --outputs-file` JSON goes. */
  readonly outputsFile: string;
}

/**
 * Deploys any one stack of an assembly to LocalStack, as `npm run localstack:deploy`
 * does for the product stack: for test stacks of their own (fixtures, variants).
 * Returns that stack's outputs. The toolkit's SDK clients read the endpoint only
 * from the process environment, so it is set for the deploy and restored after.
 */
export async function deployStackToLocalStack(
  o: DeployStackOptions
): Promise<Record<string, string>> {
  const saved = { ...process.env };
  Object.assign(
    process.env,
    localstackEnv({ endpoint: o.endpoint, region: o.region } as never, {})
  );
  try {
    const toolkit = localstackToolkit(o.region, new DeployIoHost());
    await bootstrap(toolkit, bootstrapEnvironment({ region: o.region } as never));
    const source = await toolkit.fromAssemblyDirectory(o.assemblyDir);
    await toolkit.deploy(source, {
      stacks: {
        strategy: StackSelectionStrategy.PATTERN_MUST_MATCH_SINGLE,
        patterns: [o.stackName],
      },
      outputsFile: o.outputsFile,
    });
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const outputs = JSON.parse(readFileSync(o.outputsFile, 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  const stack = outputs[o.stackName];
  if (!stack)
    throw new Error(`${o.outputsFile} has no outputs for ${o.stackName}: did the deploy fail?`);
  return stack;
}
