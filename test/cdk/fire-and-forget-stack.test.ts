import { beforeAll, describe, expect, it } from 'vitest';
import { pascalCase, STATE_NAMES } from '../../contract/index.js';
import { KINDS } from '../../kinds/index.js';
import { resolveDefinition, synthVideoStack } from './synth.js';

/** The kinds the FanOut routes (the Segments map's kind runs synchronously, before it). */
const fanOutKinds = KINDS.filter((k) => k.runBy === 'fan-out');

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
    type Processor = { ItemProcessor: { States: Record<string, Record<string, unknown>> } };
    const asl = resolveDefinition(synth.template) as {
      States: { Wave: { Branches: Array<{ States: { FanOut: Processor } }> }; Joins: Processor };
    };
    // Assess: the FanOut sits in the Wave (parallel mode); a deferred join is dispatched too.
    const states = asl.States.Wave.Branches[0]!.States.FanOut.ItemProcessor.States;
    const joinRun = `${STATE_NAMES.joinPrefix}${STATE_NAMES.runBranch('rendition')}`;
    expect(asl.States.Joins.ItemProcessor.States[joinRun]).toMatchObject({
      Parameters: { InvocationType: 'Event' },
      Next: `${STATE_NAMES.joinPrefix}${STATE_NAMES.sent('rendition')}`,
    });
    const planned = fanOutKinds.filter((k) => k.policy.fallbackFor === undefined);
    expect(planned.length).toBeGreaterThan(0);
    for (const { kind } of planned) {
      expect(states[STATE_NAMES.runBranch(kind)]).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { InvocationType: 'Event' },
        Next: STATE_NAMES.sent(kind),
      });
      expect(states[STATE_NAMES.sent(kind)]).toMatchObject({
        Type: 'Pass',
        Parameters: { 'id.$': '$.branch.id', status: 'SENT' },
      });
    }
    // await none tracks no outcome: no fallback runs.
    expect(Object.keys(states).filter((s) => s.startsWith('FallBackTo'))).toEqual([]);
  });

  it('gives each branch function a dead-letter queue for failed asynchronous events', () => {
    // Act
    const withDlq = Object.entries(synth.template.findResources('AWS::Lambda::Function')).filter(
      ([, r]) => (r.Properties as { DeadLetterConfig?: unknown }).DeadLetterConfig !== undefined
    );
    // Assess: exactly the FanOut's branch functions and the verdict keeper (EventBridge's
    // target), the only ones invoked asynchronously.
    expect(
      withDlq.map(([id]) => id.replace(/Branch.*$/, '').replace(/[0-9A-F]{8}$/, '')).sort()
    ).toEqual([...fanOutKinds.map((k) => pascalCase(k.kind)), 'VerdictKeeper'].sort());
  });
});
