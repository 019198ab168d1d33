import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { STACK_NAME } from '../contract/index.js';
import { FanOutChecks } from './nag/fan-out-checks.js';
import { PROJECT_ROOT } from './project-root.js';
import { VideoPipelineStack, type VideoPipelineStackProps } from './stacks/video-pipeline-stack.js';

/**
 * The feature flags in cdk.json. The CDK CLI passes them to bin/app.ts itself;
 * an App built in a test does not read cdk.json, so the factory applies the
 * same file and a test synthesizes exactly what `cdk synth` does.
 */
export const cdkJsonContext = (): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context ?? {};

/**
 * The three rule packs every synth runs: cdk-nag's AwsSolutions and
 * Serverless, and this project's FanOut pack. An unacknowledged finding fails
 * `app.synth()`.
 */
export const applyNagPacks = (scope: IConstruct): void => {
  Validations.of(scope).addPlugins(
    new AwsSolutionsChecks(scope),
    new ServerlessChecks(scope),
    new FanOutChecks(scope)
  );
};

export interface PipelineAppOptions {
  /** @default - the CDK CLI's output directory (cdk.out), or a temporary one outside the CLI */
  readonly outdir?: string;
  /** Context on top of cdk.json's feature flags. @default - none */
  readonly context?: AppProps['context'];
  /** @default - the stack's defaults */
  readonly stackProps?: VideoPipelineStackProps;
}

/** The app bin/app.ts runs and every test synthesizes: flags, stack and nag packs. */
export const createPipelineApp = (
  options: PipelineAppOptions = {}
): { app: App; stack: VideoPipelineStack } => {
  const app = new App({
    outdir: options.outdir,
    context: { ...cdkJsonContext(), ...options.context },
  });
  // No env: the stack stays account/region agnostic so `cdk synth` works offline.
  const stack = new VideoPipelineStack(app, STACK_NAME, {
    description:
      'serverless-fan-out-fan-in: S3 → SNS/SQS → Step Functions Map → aggregator (video pipeline)',
    ...options.stackProps,
  });
  applyNagPacks(app);
  return { app, stack };
};
