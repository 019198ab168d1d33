import { rmSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EXTRA_THUMBNAILS_LIMIT } from '../../lib/stacks/video-pipeline-stack.js';
import { synthVideoStack } from './synth.js';

/**
 * What the stack grants and configures for verified events (issue #17): the
 * starter reads the upload bucket (to HEAD the object an event names) and
 * nothing else of it; the extra-thumbnail bound reaches the probe and the plan.
 */

let synth: ReturnType<typeof synthVideoStack>;

beforeAll(() => {
  // Act (shared): one synth for every assertion below.
  synth = synthVideoStack();
});
// Each assembly holds a copy of the ffmpeg layer (~150 MB).
afterAll(() => rmSync(synth.outdir, { recursive: true, force: true }));

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
  Condition?: unknown;
}

const logicalIdOf = (type: string, prefix: string): string => {
  const ids = Object.keys(synth.template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0]!;
};

/** Every statement of the policies attached to the role of the function whose id starts with `fnPrefix`. */
const statementsOf = (fnPrefix: string): Statement[] => {
  const fnId = logicalIdOf('AWS::Lambda::Function', fnPrefix);
  const fn = synth.template.findResources('AWS::Lambda::Function')[fnId]!;
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(synth.template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
};

const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const text = (v: unknown): string => JSON.stringify(v);

describe('the starter reads only the upload bucket', () => {
  it('may HEAD objects under uploads/ of the upload bucket (GetObject, GetObjectVersion)', () => {
    // Prepare
    const uploadBucket = logicalIdOf('AWS::S3::Bucket', 'UploadBucket');
    const statements = statementsOf('StartWorkflow');
    // Assess
    const reads = statements.filter((s) => actions(s).includes('s3:GetObject'));
    const onUploads = reads.filter((s) => text(s.Resource).includes(uploadBucket));
    expect(onUploads).toHaveLength(1);
    expect(actions(onUploads[0]!).sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    expect(text(onUploads[0]!.Resource)).toContain('/uploads/*');
  });

  it('may list the upload bucket (a missing key then answers 404, not 403) and no other bucket', () => {
    // Prepare
    const uploadBucket = logicalIdOf('AWS::S3::Bucket', 'UploadBucket');
    const statements = statementsOf('StartWorkflow');
    // Assess
    const lists = statements.filter((s) => actions(s).includes('s3:ListBucket'));
    expect(lists).toHaveLength(1);
    expect(lists[0]!.Resource).toEqual({ 'Fn::GetAtt': [uploadBucket, 'Arn'] });
    expect(actions(lists[0]!)).toEqual(['s3:ListBucket']);
  });

  it('reads and writes the output bucket only under the pointer prefix and the admission ledger, and writes nothing to uploads', () => {
    // Prepare
    const uploadBucket = logicalIdOf('AWS::S3::Bucket', 'UploadBucket');
    const outputBucket = logicalIdOf('AWS::S3::Bucket', 'OutputBucket');
    const statements = statementsOf('StartWorkflow').filter((s) =>
      actions(s).some((a) => a.startsWith('s3:'))
    );
    // Assess
    for (const s of statements) {
      const resource = text(s.Resource);
      // The default (block) starter needs no manifest grant: only reject writes manifests.
      if (resource.includes(outputBucket)) {
        expect(resource).toMatch(/\/outputs\/by-key\/\*"|\/outputs\/_admission\/ledger\.json"/);
      }
      if (actions(s).includes('s3:PutObject')) expect(resource).not.toContain(uploadBucket);
      expect(actions(s)).not.toContain('s3:DeleteObject');
    }
  });

  it('tells the starter which bucket is the upload bucket', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          STATE_MACHINE_ARN: Match.anyValue(),
          UPLOAD_BUCKET: { Ref: logicalIdOf('AWS::S3::Bucket', 'UploadBucket') },
        }),
      },
    });
  });
});

describe('bounded fan-out from upload metadata', () => {
  it('sets MAX_EXTRA_THUMBNAILS to the default 20 on the probe and the plan, and nowhere else', () => {
    // Act
    const withBound = Object.entries(synth.template.findResources('AWS::Lambda::Function'))
      .filter(([, f]) => f.Properties.Environment?.Variables?.MAX_EXTRA_THUMBNAILS !== undefined)
      .map(([id, f]) => [
        id.replace(/[0-9A-F]{8}$/, ''),
        f.Properties.Environment.Variables.MAX_EXTRA_THUMBNAILS,
      ]);
    // Assess
    expect(withBound.sort()).toEqual([
      ['Plan', '20'],
      ['Probe', '20'],
    ]);
  });

  it('lets the plan HEAD the upload (the warnings re-read the metadata) without writing to it', () => {
    const uploadBucket = logicalIdOf('AWS::S3::Bucket', 'UploadBucket');
    const onUploads = statementsOf('Plan').filter((s) => text(s.Resource).includes(uploadBucket));
    expect(onUploads.flatMap(actions).sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
  });

  it.each([-1, 1.5, MAX_EXTRA_THUMBNAILS_LIMIT + 1])(
    'refuses maxExtraThumbnails %s at synth',
    (value) => {
      expect(() => synthVideoStack({ maxExtraThumbnails: value })).toThrow(
        `maxExtraThumbnails must be an integer from 0 to ${MAX_EXTRA_THUMBNAILS_LIMIT}, got ${value}`
      );
    }
  );
});

describe('the early playlist (docs/hls.md, "Playable early")', () => {
  it.each(['RenditionBranch', 'RenditionFallbackBranch', 'RenditionSegmentBranch'])(
    '%s may list the output bucket under outputs/ only; thumbnails and metadata may not list it',
    (fnPrefix) => {
      // Prepare
      const outputBucket = logicalIdOf('AWS::S3::Bucket', 'OutputBucket');
      // Assess
      const lists = statementsOf(fnPrefix).filter((s) => actions(s).includes('s3:ListBucket'));
      expect(lists).toHaveLength(1);
      expect(actions(lists[0]!)).toEqual(['s3:ListBucket']);
      expect(lists[0]!.Resource).toEqual({ 'Fn::GetAtt': [outputBucket, 'Arn'] });
      expect(lists[0]!.Condition).toEqual({ StringLike: { 's3:prefix': ['outputs/*'] } });
      for (const other of ['ThumbnailBranch', 'MetadataBranch']) {
        expect(statementsOf(other).some((s) => actions(s).includes('s3:ListBucket'))).toBe(false);
      }
    }
  );
});
