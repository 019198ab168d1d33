import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMISSION_LEDGER_KEY } from '../../contract/index.js';
import { ADMISSION_LEASE_MARGIN_SECONDS } from '../../lib/stacks/video-pipeline-stack.js';
import { resolveDefinition, synthVideoStack } from './synth.js';

type Synth = ReturnType<typeof synthVideoStack>;

const starterOf = (synth: Synth) => {
  const found = Object.entries(synth.template.findResources('AWS::Lambda::Function')).filter(
    ([id]) => /^StartWorkflow[0-9A-F]{8}$/.test(id)
  );
  expect(found).toHaveLength(1);
  return found[0]![1] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
};

const starterStatements = (synth: Synth) =>
  Object.values(
    synth.template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^StartWorkflow') }] },
    })
  ).flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);

describe('admission of uploads (the starter)', () => {
  let byDefault: Synth;
  let rejecting: Synth;

  beforeAll(() => {
    byDefault = synthVideoStack();
    rejecting = synthVideoStack({
      uploadOverflowPolicy: 'reject',
      tenantRateLimits: { default: 60, tenants: { acme: 6 } },
    });
  });

  it('blocks by default, with a lease ledger in the output bucket outliving the video timeout', () => {
    // Act
    const env = starterOf(byDefault).Properties.Environment.Variables;
    const timeout = resolveDefinition(byDefault.template).TimeoutSeconds as number;

    // Assess
    expect(env).toMatchObject({
      UPLOAD_OVERFLOW_POLICY: 'block',
      ADMISSION_LEDGER_BUCKET: { Ref: expect.stringMatching(/^OutputBucket/) },
      ADMISSION_LEASE_SECONDS: String(timeout + ADMISSION_LEASE_MARGIN_SECONDS),
    });
    expect(env).not.toHaveProperty('TENANT_RATE_LIMITS');
    expect(env).not.toHaveProperty('PROCESSED_TOPIC_ARN');
    // Only the ledger object, not the manifests, and no publish.
    const statements = starterStatements(byDefault);
    const ledger = statements.find((s) =>
      JSON.stringify(s.Resource).includes(ADMISSION_LEDGER_KEY)
    );
    expect(ledger?.Action).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContain('sns:Publish');
  });

  it('reject: the starter may write manifests and publish the VideoProcessed event', () => {
    // Act
    const env = starterOf(rejecting).Properties.Environment.Variables;
    const statements = starterStatements(rejecting);

    // Assess
    expect(env).toMatchObject({
      UPLOAD_OVERFLOW_POLICY: 'reject',
      TENANT_RATE_LIMITS: JSON.stringify({ default: 60, tenants: { acme: 6 } }),
      PROCESSED_TOPIC_ARN: { Ref: expect.stringMatching(/^VideoProcessed/) },
    });
    expect(statements.flatMap((s) => [s.Action].flat())).toEqual(
      expect.arrayContaining(['sns:Publish', 's3:PutObject'])
    );
  });

  it('refuses invalid rate limits and an unknown overflow policy at synth, naming the field', () => {
    // Act
    const badRate = () => synthVideoStack({ tenantRateLimits: { default: 0 } });
    const badPolicy = () => synthVideoStack({ uploadOverflowPolicy: 'drop' as 'reject' });

    // Assess
    expect(badRate).toThrow(/^tenantRateLimits is invalid: default: /);
    expect(badPolicy).toThrow(/^uploadOverflowPolicy must be one of block, reject, got drop/);
  });
});
