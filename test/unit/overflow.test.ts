import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type OverflowConfig, SpillObjectSchema } from '../../contract/index.js';
import {
  applyOverflow,
  countByTenant,
  decideOverflow,
  overflowConfigFromEnv,
  UNKNOWN_TENANT,
} from '../../lambdas/shared/overflow.js';
import { logger, metrics } from '../../lambdas/shared/powertools.js';
import { defineQueueConsumer } from '../../lambdas/shared/queue-consumer.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { tenantsInBody } from '../../lambdas/shared/s3-events.js';
import { sqs } from '../../lambdas/shared/sqs.js';
import {
  lambdaContextFactory,
  snsRawS3Message,
  sqsEventFactory,
  sqsRecordFactory,
} from '../helpers/factories.js';

const NOW = Date.parse('2026-12-07T10:00:00.000Z');
const HOUR_MS = 3_600_000;
const SPILL_QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/audit-dlq';

const upload = (
  key: string,
  sentMs: number,
  messageAttributes: SQSRecord['messageAttributes'] = {}
) =>
  sqsRecordFactory(snsRawS3Message([{ key }]), {
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sentMs),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(sentMs),
    },
    messageAttributes,
  });

const dropOldest: OverflowConfig = { policy: 'dropOldest', input: 'Audit', maxAgeSeconds: 3600 };
const spill: OverflowConfig = {
  policy: 'spill',
  input: 'Audit',
  maxAgeSeconds: 3600,
  spillQueueUrl: SPILL_QUEUE,
};
const dropNewest: OverflowConfig = {
  policy: 'dropNewest',
  input: 'Audit',
  maxBacklog: 5,
  queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/audit',
};

describe('decideOverflow', () => {
  it.each([
    { name: 'younger than the limit', sent: NOW - 60_000, moved: false },
    { name: 'exactly at the limit', sent: NOW - HOUR_MS, moved: false },
    { name: 'one millisecond past it', sent: NOW - HOUR_MS - 1, moved: true },
    { name: 'an unreadable SentTimestamp', sent: Number.NaN, moved: false },
  ])('dropOldest and spill: $name → moved=$moved', ({ sent, moved }) => {
    // Prepare
    const record = upload('uploads/a.mp4', sent);

    // Act
    const dropped = decideOverflow([record], dropOldest, { nowMs: NOW });
    const spilled = decideOverflow([record], spill, { nowMs: NOW });

    // Assess
    expect(dropped.drop.map((d) => d.record)).toEqual(moved ? [record] : []);
    expect(dropped.spill).toEqual([]);
    expect(spilled.spill.map((d) => d.record)).toEqual(moved ? [record] : []);
    expect(spilled.drop).toEqual([]);
    expect(dropped.keep).toEqual(moved ? [] : [record]);
  });

  it('says how long the message waited and what the input allows', () => {
    // Act
    const { drop } = decideOverflow([upload('uploads/a.mp4', NOW - 2 * HOUR_MS)], dropOldest, {
      nowMs: NOW,
    });

    // Assess
    expect(drop[0]?.reason).toBe(
      'waited 7200 s in the queue (sent 2026-12-07T08:00:00.000Z), more than the 3600 s Audit allows'
    );
  });

  it('keeps a message an operator redrove after a spill, however old', () => {
    // Prepare
    const redriven = upload('uploads/a.mp4', NOW - 48 * HOUR_MS, {
      'overflow-spilled-from': {
        stringValue: 'Audit',
        dataType: 'String',
        stringListValues: [],
        binaryListValues: [],
      },
    });

    // Act
    const decision = decideOverflow([redriven], spill, { nowMs: NOW });

    // Assess
    expect(decision).toEqual({ keep: [redriven], drop: [], spill: [] });
  });

  it.each([
    { backlog: 0, dropped: 0 },
    { backlog: 2, dropped: 0 },
    { backlog: 3, dropped: 1 },
    { backlog: 100, dropped: 3 },
  ])(
    'dropNewest with $backlog waiting besides a batch of 3 (bound 5) drops $dropped',
    ({ backlog, dropped }) => {
      // Prepare: sent oldest to newest
      const batch = [0, 1, 2].map((i) => upload(`uploads/${i}.mp4`, NOW - (3 - i) * 1000));

      // Act
      const decision = decideOverflow(batch, dropNewest, { nowMs: NOW, backlog });

      // Assess: the newest go first, the oldest stay
      expect(decision.drop.map((d) => d.record)).toEqual(batch.slice(3 - dropped));
      expect(decision.keep).toEqual(batch.slice(0, 3 - dropped));
    }
  );

  it('block keeps everything, however old', () => {
    // Prepare
    const old = upload('uploads/a.mp4', NOW - 100 * HOUR_MS);

    // Act / Assess
    expect(decideOverflow([old], { policy: 'block', input: 'x' }, { nowMs: NOW }).keep).toEqual([
      old,
    ]);
    expect(decideOverflow([old], undefined, { nowMs: NOW }).keep).toEqual([old]);
  });
});

describe('countByTenant', () => {
  it('counts per tenant dimension, an unreadable body as unknown', () => {
    // Prepare
    const records = [
      upload('uploads/a.mp4', NOW),
      upload('uploads/acme/b.mp4', NOW),
      upload('uploads/c.mp4', NOW),
      sqsRecordFactory('not json'),
    ].map((record) => ({ record, reason: 'r' }));

    // Act
    const counts = countByTenant(records, tenantsInBody);

    // Assess: acme is not configured by name (METRIC_TENANTS unset), so it is `other`
    expect(Object.fromEntries(counts)).toEqual({ default: 2, other: 1, [UNKNOWN_TENANT]: 1 });
  });
});

describe('overflowConfigFromEnv', () => {
  it('reads the JSON the construct writes', () => {
    expect(overflowConfigFromEnv(JSON.stringify(spill))).toEqual(spill);
    expect(overflowConfigFromEnv(undefined)).toBeUndefined();
  });

  it.each([
    ['{"policy":"spill","input":"x","maxAgeSeconds":60}', /OVERFLOW_POLICY is invalid/],
    ['{"policy":"dropOldest","input":"x","maxAgeSeconds":0}', /OVERFLOW_POLICY is invalid/],
    ['{"policy":"shed","input":"x"}', /OVERFLOW_POLICY is invalid/],
    ['spill', /OVERFLOW_POLICY is not JSON/],
  ])('refuses %s', (raw, message) => {
    expect(() => overflowConfigFromEnv(raw)).toThrow(message);
  });
});

describe('applyOverflow', () => {
  const sqsMock = mockClient(sqs);
  /** What the single metrics would print (tests run with metrics disabled). */
  let emitted: { name: string; value: number; dimensions: Record<string, string> }[];
  let warnings: unknown[];

  beforeEach(() => {
    sqsMock.reset();
    emitted = [];
    const single = metrics.singleMetric.bind(metrics);
    vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
      const m: Metrics = single();
      vi.spyOn(m, 'publishStoredMetrics').mockImplementation(() => {
        const emf = m.serializeMetrics() as unknown as Record<string, unknown> & {
          _aws: { CloudWatchMetrics: { Metrics: { Name: string }[]; Dimensions: string[][] }[] };
        };
        const { Metrics: defs, Dimensions } = emf._aws.CloudWatchMetrics[0]!;
        for (const { Name } of defs) {
          emitted.push({
            name: Name,
            value: emf[Name] as number,
            dimensions: Object.fromEntries(Dimensions[0]!.map((d) => [d, emf[d] as string])),
          });
        }
        m.clearMetrics();
        return m;
      });
      return m;
    });
    warnings = [];
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('counts the dropped records per tenant and logs once for the batch', async () => {
    // Prepare
    const batch = [
      upload('uploads/old-1.mp4', NOW - 2 * HOUR_MS),
      upload('uploads/old-2.mp4', NOW - 3 * HOUR_MS),
      upload('uploads/fresh.mp4', NOW - 1000),
    ];

    // Act
    const res = await applyOverflow(batch, dropOldest, tenantsInBody, NOW);

    // Assess
    expect(res).toEqual({ keep: [batch[2]], failures: [] });
    expect(emitted).toEqual([
      {
        name: 'Dropped',
        value: 2,
        dimensions: { service: 'video-pipeline', input: 'Audit', tenant: 'default' },
      },
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toEqual([
      'Overflow policy applied to the batch',
      expect.objectContaining({
        input: 'Audit',
        policy: 'dropOldest',
        dropped: 2,
        spilled: 0,
        messageIds: [batch[0]!.messageId, batch[1]!.messageId],
      }),
    ]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
  });

  it('spills to the spill queue with the reason, and counts only what moved', async () => {
    // Prepare: the second of two stale records is refused by SQS
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: 'x' }],
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
    });
    const batch = [
      upload('uploads/old-1.mp4', NOW - 2 * HOUR_MS),
      upload('uploads/old-2.mp4', NOW - 2 * HOUR_MS),
    ];

    // Act
    const res = await applyOverflow(batch, spill, tenantsInBody, NOW);

    // Assess
    expect(res).toEqual({ keep: [], failures: [{ itemIdentifier: batch[1]!.messageId }] });
    const input = sqsMock.commandCalls(SendMessageBatchCommand)[0]!.args[0].input;
    expect(input.QueueUrl).toBe(SPILL_QUEUE);
    expect(input.Entries?.[0]).toMatchObject({
      MessageBody: batch[0]!.body,
      MessageAttributes: {
        'error-name': { DataType: 'String', StringValue: 'OverflowSpilled' },
        'source-message-id': { DataType: 'String', StringValue: batch[0]!.messageId },
        'overflow-spilled-from': { DataType: 'String', StringValue: 'Audit' },
      },
    });
    expect(emitted).toEqual([
      {
        name: 'Spilled',
        value: 1,
        dimensions: { service: 'video-pipeline', input: 'Audit', tenant: 'default' },
      },
    ]);
  });

  it('spills to a bucket as one object per batch, keyed by input and time, not by content', async () => {
    // Prepare
    const s3Mock = mockClient(s3);
    s3Mock.on(PutObjectCommand).resolves({});
    const toBucket: OverflowConfig = {
      policy: 'spill',
      input: 'Audit',
      maxAgeSeconds: 3600,
      spillBucket: 'spill-bucket',
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/audit',
    };
    const batch = [
      upload('uploads/old-1.mp4', NOW - 2 * HOUR_MS, {
        origin: { dataType: 'String', stringValue: 'x' } as never,
      }),
      upload('uploads/old-2.mp4', NOW - 2 * HOUR_MS),
      upload('uploads/fresh.mp4', NOW - 1000),
    ];

    // Act
    const res = await applyOverflow(batch, toBucket, tenantsInBody, NOW);

    // Assess
    expect(res).toEqual({ keep: [batch[2]], failures: [] });
    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ Bucket: 'spill-bucket', IfNoneMatch: '*' });
    expect(puts[0]!.Key).toMatch(/^overflow-spill\/Audit\/[\dT:.Z-]+-[0-9a-f-]{36}\.json$/);
    const object = SpillObjectSchema.parse(JSON.parse(String(puts[0]!.Body)));
    expect(object).toMatchObject({ input: 'Audit', queueUrl: toBucket.queueUrl });
    expect(object.records.map((r) => r.body)).toEqual([batch[0]!.body, batch[1]!.body]);
    expect(object.records[0]!.messageAttributes).toEqual({
      origin: { dataType: 'String', stringValue: 'x' },
    });
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
    expect(emitted.map((e) => [e.name, e.value])).toEqual([['Spilled', 2]]);
    s3Mock.restore();
  });

  it('a failed bucket spill moves nothing: every spilled record comes back, none counted', async () => {
    // Prepare
    const s3Mock = mockClient(s3);
    s3Mock.on(PutObjectCommand).rejects(new Error('SlowDown'));
    const toBucket: OverflowConfig = {
      policy: 'spill',
      input: 'Audit',
      maxAgeSeconds: 3600,
      spillBucket: 'spill-bucket',
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/audit',
    };
    const batch = [
      upload('uploads/old-1.mp4', NOW - 2 * HOUR_MS),
      upload('uploads/old-2.mp4', NOW - 2 * HOUR_MS),
    ];

    // Act
    const res = await applyOverflow(batch, toBucket, tenantsInBody, NOW);

    // Assess
    expect(res).toEqual({
      keep: [],
      failures: batch.map((r) => ({ itemIdentifier: r.messageId })),
    });
    expect(emitted).toEqual([]);
    s3Mock.restore();
  });

  it('dropNewest reads the backlog of its own queue', async () => {
    // Prepare
    sqsMock.on(GetQueueAttributesCommand).resolves({
      Attributes: { ApproximateNumberOfMessages: '4' },
    });
    const batch = [upload('uploads/a.mp4', NOW - 2000), upload('uploads/b.mp4', NOW - 1000)];

    // Act
    const res = await applyOverflow(batch, dropNewest, tenantsInBody, NOW);

    // Assess: 4 + 2 against a bound of 5 drops the newest one
    expect(res.keep).toEqual([batch[0]]);
    expect(sqsMock).toHaveReceivedCommandWith(GetQueueAttributesCommand, {
      QueueUrl: dropNewest.policy === 'dropNewest' ? dropNewest.queueUrl : '',
    });
    expect(emitted.map((e) => [e.name, e.value])).toEqual([['Dropped', 1]]);
  });

  it('block touches nothing and counts nothing', async () => {
    // Prepare
    const batch = [upload('uploads/a.mp4', NOW - 100 * HOUR_MS)];

    // Act
    const res = await applyOverflow(batch, { policy: 'block', input: 'x' }, tenantsInBody, NOW);

    // Assess
    expect(res.keep).toEqual(batch);
    expect(emitted).toEqual([]);
    expect(warnings).toEqual([]);
    expect(sqsMock.calls()).toHaveLength(0);
  });
});

describe('defineQueueConsumer with an overflow policy', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('hands only the kept records to the body handler, and the dropped ones are acknowledged', async () => {
    // Prepare
    vi.stubEnv('OVERFLOW_POLICY', JSON.stringify(dropOldest));
    const seen: string[] = [];
    const { handler } = defineQueueConsumer(async (body) => {
      seen.push(body);
    });
    const now = Date.now();
    const old = upload('uploads/old.mp4', now - 2 * HOUR_MS);
    const fresh = upload('uploads/fresh.mp4', now - 1000);

    // Act
    const res = await handler(
      sqsEventFactory([old, fresh]),
      lambdaContextFactory(),
      () => undefined
    );

    // Assess
    expect(seen).toEqual([fresh.body]);
    expect(res).toEqual({ batchItemFailures: [] });
  });

  it('refuses to run a batch under a policy it cannot read', async () => {
    // Prepare
    vi.stubEnv('OVERFLOW_POLICY', '{"policy":"spill"}');
    const { handler } = defineQueueConsumer(async () => undefined);

    // Act / Assess
    await expect(
      handler(
        sqsEventFactory([upload('uploads/a.mp4', Date.now())]),
        lambdaContextFactory(),
        () => undefined
      )
    ).rejects.toThrow(/OVERFLOW_POLICY is invalid/);
  });
});
