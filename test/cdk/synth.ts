import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  VideoPipelineStack,
  type VideoPipelineStackProps,
} from '../../lib/stacks/video-pipeline-stack.js';

/** Synthesizes the real stack exactly as bin/app.ts does (cdk-nag included). */
export const synthVideoStack = (props: VideoPipelineStackProps = {}) => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-test-'));
  const app = new App({ outdir });
  const stack = new VideoPipelineStack(app, 'VideoPipeline', props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const template = Template.fromJSON(
    JSON.parse(
      fs.readFileSync(path.join(assembly.directory, 'VideoPipeline.template.json'), 'utf8')
    )
  );
  return { app, stack, template, assembly, outdir };
};

type Json = unknown;

/**
 * Turns the state machine's `DefinitionString` (an Fn::Join of strings and
 * intrinsics) into plain ASL, replacing each Fn::GetAtt with a fake ARN, so the
 * definition can be validated and executed outside CloudFormation.
 */
export const resolveDefinition = (template: Template): Record<string, Json> => {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines);
  const def = machine.Properties.DefinitionString as { 'Fn::Join': [string, Json[]] };
  const text = def['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const getAtt = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      if (getAtt) return `arn:aws:lambda:us-east-1:123456789012:function:${getAtt[0]}`;
      throw new Error(`Unexpected intrinsic in DefinitionString: ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text);
};
