import { beforeAll, describe, expect, it } from 'vitest';
import { resolveDefinition, synthVideoStack } from './synth.js';

/**
 * `awaitMode: 'none'` makes every branch fire-and-forget: Step Functions invokes the branch
 * functions asynchronously, so each needs somewhere for an event that still fails after
 * Lambda's retries (cdk-nag Serverless-LambdaDLQ and checkov CKV_AWS_116 are no longer
 * acknowledged for them). The synth itself runs the nag packs and fails on any finding.
 */
describe('video stack with awaitMode none (every branch fire-and-forget)', () => {
  let synth: ReturnType<typeof synthVideoStack>;
  beforeAll(() => {
    synth = synthVideoStack({ awaitMode: 'none' });
  }, 300_000);

  it('invokes every branch kind with InvocationType Event and reports it SENT', () => {
    // Act
    const asl = resolveDefinition(synth.template) as {
      States: { FanOut: { ItemProcessor: { States: Record<string, Record<string, unknown>> } } };
    };
    // Assess
    const states = asl.States.FanOut.ItemProcessor.States;
    for (const kind of ['Thumbnail', 'Rendition', 'Metadata']) {
      expect(states[`Run${kind}`]).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { InvocationType: 'Event' },
        Next: `Sent${kind}`,
      });
      expect(states[`Sent${kind}`]).toMatchObject({
        Type: 'Pass',
        Parameters: { 'id.$': '$.branch.id', status: 'SENT' },
      });
    }
    expect(Object.keys(states)).not.toContain('FallBackToRenditionFallback');
  });

  it('gives each branch function a dead-letter queue for failed asynchronous events', () => {
    // Act
    const withDlq = Object.entries(synth.template.findResources('AWS::Lambda::Function')).filter(
      ([, r]) => (r.Properties as { DeadLetterConfig?: unknown }).DeadLetterConfig !== undefined
    );
    // Assess: the four branch functions and the verdict keeper (EventBridge's target), the
    // only ones invoked asynchronously.
    expect(
      withDlq.map(([id]) => id.replace(/Branch.*$/, '').replace(/[0-9A-F]{8}$/, '')).sort()
    ).toEqual(['Metadata', 'Rendition', 'RenditionFallback', 'Thumbnail', 'VerdictKeeper']);
  });
});
