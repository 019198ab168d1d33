import {
  ListSubscriptionsByTopicCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
} from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, receiveExactly, startFixture, waitFor } from './helpers.js';

/** SNS→SQS delivery faults through fauxqs's Publish (src/sns-delivery.ts). */
describe('SNS delivery faults', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());
  afterEach(() => {
    fx.rt.faults.snsDeliveryErrorRate = 0;
    fx.rt.faults.snsDuplicateRate = 0;
    fx.rt.faults.snsRetryTimeScale = 1;
  });

  const publish = (message: string, kind: string) =>
    fx.sns.send(
      new PublishCommand({
        TopicArn: fx.rt.outputs.EventsTopicArn,
        Message: message,
        MessageAttributes: { kind: { DataType: 'String', StringValue: kind } },
      })
    );

  it('delivers a duplicate as a second SQS message, still through the filter policy', async () => {
    // Prepare
    fx.rt.faults.snsDuplicateRate = 1;
    // Act
    await publish('{"dup":1}', 'video');
    await publish('{"dup":2}', 'audio');
    // Assess: the raw queue's filter lets only "video" through, twice.
    const raw = await receiveExactly(fx.sqs, fx.rt.outputs.RawQueueUrl, 2);
    expect(raw.map((m) => m.Body)).toEqual(['{"dup":1}', '{"dup":1}']);
    expect(new Set(raw.map((m) => m.MessageId)).size).toBe(2);
    const envelopes = await receiveExactly(fx.sqs, fx.rt.outputs.EnvelopeQueueUrl, 4);
    expect(envelopes.map((m) => JSON.parse(m.Body!).Message).sort()).toEqual([
      '{"dup":1}',
      '{"dup":1}',
      '{"dup":2}',
      '{"dup":2}',
    ]);
    expect(fx.rt.stats().snsDuplicates).toBeGreaterThanOrEqual(3);
  });

  it('retries failed attempts and delivers; out of policy goes to the subscription DLQ', async () => {
    // Prepare: the envelope subscription gets a DLQ; the raw one keeps none.
    const subs = await fx.sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: fx.rt.outputs.EventsTopicArn })
    );
    const envelopeQueueName = fx.rt.outputs.EnvelopeQueueUrl.split('/').pop();
    const envelopeSub = subs.Subscriptions?.find((s) =>
      s.Endpoint?.endsWith(`:${envelopeQueueName}`)
    );
    const dlq = fx.rt.model.queues.find((q) => q.logicalId.startsWith('WorkDlq'))!;
    await fx.sns.send(
      new SetSubscriptionAttributesCommand({
        SubscriptionArn: envelopeSub!.SubscriptionArn,
        AttributeName: 'RedrivePolicy',
        AttributeValue: JSON.stringify({ deadLetterTargetArn: dlq.arn }),
      })
    );
    const before = fx.rt.stats();
    fx.rt.faults.snsRetryTimeScale = 1e-6;
    fx.rt.faults.snsDeliveryErrorRate = 0.5;
    // Act: 20 publishes at 50%: some need retries, all land.
    for (let i = 0; i < 20; i++) await publish(`{"retry":${i}}`, 'other');
    const delivered = await receiveExactly(fx.sqs, fx.rt.outputs.EnvelopeQueueUrl, 20);
    const retried = fx.rt.stats();
    // Act: every attempt fails.
    fx.rt.faults.snsDeliveryErrorRate = 1;
    await publish('{"dead":1}', 'video');
    await waitFor(() => fx.rt.stats().snsPendingRetries === 0, { what: 'retries to finish' });
    // Assess
    expect(delivered).toHaveLength(20);
    expect(retried.snsDeliveryFailures - before.snsDeliveryFailures).toBeGreaterThan(0);
    expect(retried.snsDeliveredAfterRetry - before.snsDeliveredAfterRetry).toBeGreaterThan(0);
    const after = fx.rt.stats();
    expect(after.snsDeadLettered - retried.snsDeadLettered).toBe(1); // envelope sub → its DLQ
    expect(after.snsDiscarded - retried.snsDiscarded).toBe(1); // raw sub has no DLQ
    const dead = await receiveExactly(fx.sqs, dlq.url, 1);
    expect(JSON.parse(dead[0].Body!).Message).toBe('{"dead":1}');
    expect(fx.logs.some((l) => l.includes('no usable DLQ; message discarded'))).toBe(true);
  });

  it('sets faults over the admin API all or nothing', async () => {
    const post = (body: unknown) =>
      fetch(`${fx.rt.endpoint}/_local/faults`, { method: 'POST', body: JSON.stringify(body) });
    const bad = await post({ snsDuplicateRate: 0.5, sqsReceiveErrorRate: 2 });
    expect(bad.status).toBe(400);
    expect(fx.rt.faults.snsDuplicateRate).toBe(0);
    expect((await post({ nope: 1 })).status).toBe(400);
    const ok = await post({ sqsDeleteErrorRate: 0.25 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ sqsDeleteErrorRate: 0.25, snsRetryTimeScale: 1 });
    fx.rt.faults.sqsDeleteErrorRate = 0;
  });
});
