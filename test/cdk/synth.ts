import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll } from 'vitest';
import { createPipelineApp } from '../../lib/app.js';
import type { VideoPipelineStackProps } from '../../lib/stacks/video-pipeline-stack.js';

/** Every outdir synthVideoStack made in this test file. */
const outdirs: string[] = [];
// Registered on the importing test file when it is collected: each assembly holds the 157 MB
// ffmpeg layer, so it is removed once the file is done, whatever its tests did.
afterAll(() => {
  for (const dir of outdirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary outdir for an assembly a test synthesizes, removed after the file (also on failure). */
export const tempOutdir = (prefix: string): string => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  outdirs.push(outdir);
  return outdir;
};

/**
 * Synthesizes the real stack through bin/app.ts's factory (flags, nag packs and all) into a
 * temporary outdir, removed after the calling test file (also on failure).
 */
export const synthVideoStack = (stackProps: VideoPipelineStackProps = {}) => {
  const outdir = tempOutdir('cdk-test-');
  const { app, stack } = createPipelineApp({ outdir, stackProps });
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
      // A Distributed Map's S3 ARNs and bucket names.
      const ref = (part as { Ref?: string }).Ref;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref) return `ref-${ref}`;
      throw new Error(`Unexpected intrinsic in DefinitionString: ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text);
};
