#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { VideoPipelineStack } from '../lib/stacks/video-pipeline-stack.js';

const app = new App();
// No env: the stack stays account/region agnostic so `cdk synth` works offline.
new VideoPipelineStack(app, 'VideoPipeline', {
  description:
    'serverless-fan-out-fan-in: S3 → SNS/SQS → Step Functions Map → aggregator (video pipeline)',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
