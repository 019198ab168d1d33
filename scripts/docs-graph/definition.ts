import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createPipelineApp } from '../../lib/app.js';
import type { AslMachine } from './render.js';

type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown }>;
};

/**
 * The definition of the template's `StateMachineArn` output (the VideoPipeline workflow) as
 * plain ASL. Its `DefinitionString` is an `Fn::Join` of strings and intrinsics: each
 * intrinsic becomes a placeholder ARN (a Lambda function's ARN for a function's
 * `Fn::GetAtt … Arn`, so a Task still shows what it invokes).
 */
export const definitionFromTemplate = (template: Template): AslMachine => {
  const output = template.Outputs?.StateMachineArn?.Value as { Ref?: string } | undefined;
  const logicalId = output?.Ref;
  const machine = logicalId ? template.Resources[logicalId] : undefined;
  if (machine?.Type !== 'AWS::StepFunctions::StateMachine') {
    throw new Error('the template has no StateMachineArn output naming a state machine');
  }
  const body = machine.Properties?.DefinitionString as
    | string
    | { 'Fn::Join': [string, unknown[]] }
    | undefined;
  if (body === undefined) throw new Error(`${logicalId} has no DefinitionString`);
  if (typeof body === 'string') return JSON.parse(body);
  const [separator, parts] = body['Fn::Join'];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const getAtt = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      if (getAtt) {
        const [id, attribute] = getAtt;
        return template.Resources[id]?.Type === 'AWS::Lambda::Function' && attribute === 'Arn'
          ? `arn:aws:lambda:us-east-1:123456789012:function:${id}`
          : `${id}.${attribute}`;
      }
      const ref = (part as { Ref?: string }).Ref;
      if (ref) return ref === 'AWS::Partition' ? 'aws' : `ref-${ref}`;
      throw new Error(`unexpected intrinsic in the DefinitionString: ${JSON.stringify(part)}`);
    })
    .join(separator);
  return JSON.parse(text);
};

/**
 * Synthesizes the app bin/app.ts runs (cdk.json's flags, the default stack props) into a
 * temporary directory, reads the workflow's definition, and removes the directory, also on
 * failure. Asset bundling and staging are off (`aws:cdk:bundling-stacks`,
 * `aws:cdk:disable-asset-staging`): the definition does not depend on them, and staging would
 * copy the 157 MB ffmpeg layer.
 */
export const synthesizedDefinition = (): AslMachine => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-graph-'));
  try {
    const { app, stack } = createPipelineApp({
      outdir,
      context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-asset-staging': true },
    });
    const assembly = app.synth();
    const file = path.join(assembly.directory, stack.templateFile);
    return definitionFromTemplate(JSON.parse(fs.readFileSync(file, 'utf8')));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
};
