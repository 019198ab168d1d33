import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchItemFailure, SQSRecord } from 'aws-lambda';
import {
  METRIC_DIMENSIONS,
  OVERFLOW_ATTRIBUTES,
  OVERFLOW_ENV,
  OVERFLOW_METRICS,
  type OverflowConfig,
  OverflowConfigSchema,
  SPILLED_ERROR_NAME,
  type SpillObject,
  spillObjectKey,
} from '../../contract/index.js';
import { logger, metrics } from './powertools.js';
import { s3 } from './s3.js';
import { sqs } from './sqs.js';
import { tenantDimensionOf } from './tenant-metrics.js';

/**
 * A queue consumer's overflow policy (contract/overflow.ts), in two parts: the
 * decision, pure ({@link decideOverflow}), and its I/O at the edges
 * ({@link applyOverflow}: the backlog read for `dropNewest`, the spill sends, one
 * log line and the metrics per batch).
 */

/** Reads the policy the construct wrote; none (a consumer outside a QueueWorker) is `block`. */
export const overflowConfigFromEnv = (
  raw: string | undefined = process.env[OVERFLOW_ENV]
): OverflowConfig | undefined => {
  if (raw === undefined || raw === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${OVERFLOW_ENV} is not JSON: ${raw}`);
  }
  const parsed = OverflowConfigSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${OVERFLOW_ENV} is invalid: ${parsed.error.message}`);
  return parsed.data;
};

export interface OverflowedRecord {
  record: SQSRecord;
  /** Why, as the log line and the spill queue's `error-message` say it. */
  reason: string;
}

export interface OverflowDecision {
  /** Processed as usual. */
  keep: SQSRecord[];
  /** Deleted unprocessed (reported as success to the event source mapping). */
  drop: OverflowedRecord[];
  /** Moved to the spill queue, then deleted. */
  spill: OverflowedRecord[];
}

export interface OverflowState {
  nowMs: number;
  /** Visible messages in the queue besides this batch (`dropNewest` only). */
  backlog?: number;
}

const sentMs = (record: SQSRecord): number => Number(record.attributes.SentTimestamp);
const wasRedriven = (record: SQSRecord): boolean =>
  record.messageAttributes?.[OVERFLOW_ATTRIBUTES.spilledFrom] !== undefined;

/**
 * Pure: which records of a batch the policy keeps, drops or spills. A record
 * without a readable SentTimestamp cannot be judged by age and is kept; a
 * record an operator redrove after a spill is kept.
 */
export const decideOverflow = (
  records: readonly SQSRecord[],
  config: OverflowConfig | undefined,
  state: OverflowState
): OverflowDecision => {
  const decision: OverflowDecision = { keep: [], drop: [], spill: [] };
  if (!config || config.policy === 'block') return { ...decision, keep: [...records] };
  if (config.policy === 'dropNewest') {
    const backlog = state.backlog ?? 0;
    const excess = backlog + records.length - config.maxBacklog;
    // Newest first; records without a timestamp count as newest (they cannot be shown older).
    const byAge = [...records]
      .filter((r) => !wasRedriven(r))
      .sort(
        (a, b) => (sentMs(b) || Number.POSITIVE_INFINITY) - (sentMs(a) || Number.POSITIVE_INFINITY)
      );
    const dropped = new Set(byAge.slice(0, Math.max(0, excess)));
    for (const record of records) {
      if (!dropped.has(record)) decision.keep.push(record);
      else
        decision.drop.push({
          record,
          reason:
            `the queue held ${backlog + records.length} messages with this batch, ` +
            `more than the ${config.maxBacklog} ${config.input} allows; the newest are dropped`,
        });
    }
    return decision;
  }
  const limitMs = config.maxAgeSeconds * 1000;
  const target = config.policy === 'spill' ? decision.spill : decision.drop;
  for (const record of records) {
    const sent = sentMs(record);
    const age = state.nowMs - sent;
    if (wasRedriven(record) || !Number.isFinite(sent) || age <= limitMs) {
      decision.keep.push(record);
      continue;
    }
    target.push({
      record,
      reason:
        `waited ${Math.round(age / 1000)} s in the queue (sent ${new Date(sent).toISOString()}), ` +
        `more than the ${config.maxAgeSeconds} s ${config.input} allows`,
    });
  }
  return decision;
};

/** Pure: how many records of each tenant (its metric dimension value) a list holds. */
export const countByTenant = (
  records: readonly OverflowedRecord[],
  tenantsOf: (body: string) => string[]
): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const { record } of records) {
    let tenants: string[] = [];
    try {
      tenants = [...new Set(tenantsOf(record.body))];
    } catch {
      // A body we cannot read has no tenant; it is still counted.
    }
    const dims = tenants.length > 0 ? tenants.map(tenantDimensionOf) : [UNKNOWN_TENANT];
    for (const t of new Set(dims)) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
};
/** The tenant dimension of a message whose body names none. */
export const UNKNOWN_TENANT = 'unknown';

const text = (v: string) => ({ DataType: 'String', StringValue: v.slice(0, 1024) || '-' });

/**
 * Sends the records to the spill queue, ten per SendMessageBatch, with the
 * reason and the input they came from. Returns the ones that could not be
 * moved: the caller reports them as batch item failures, so they come back.
 */
type SpillConfig = Extract<OverflowConfig, { policy: 'spill' }>;

/**
 * Writes the batch's spilled records to the spill bucket as one object (keyed by
 * input and time, never by content). All or nothing: if the PUT fails, every record
 * is reported unmoved and comes back.
 */
const spillRecordsToBucket = async (
  spill: readonly OverflowedRecord[],
  config: SpillConfig & { spillBucket: string; queueUrl: string }
): Promise<SQSRecord[]> => {
  if (spill.length === 0) return [];
  const now = new Date();
  const object: SpillObject = {
    input: config.input,
    queueUrl: config.queueUrl,
    spilledAt: now.toISOString(),
    records: spill.map(({ record, reason }) => ({
      messageId: record.messageId,
      body: record.body,
      sentTimestamp: record.attributes.SentTimestamp,
      reason,
      messageAttributes: Object.fromEntries(
        Object.entries(record.messageAttributes ?? {}).map(([name, v]) => [
          name,
          {
            dataType: v.dataType,
            ...(v.stringValue !== undefined ? { stringValue: v.stringValue } : {}),
            ...(v.binaryValue !== undefined ? { binaryValue: v.binaryValue } : {}),
          },
        ])
      ),
    })),
  };
  const key = spillObjectKey(config.input, now, randomUUID());
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: config.spillBucket,
        Key: key,
        Body: JSON.stringify(object),
        ContentType: 'application/json',
        // A retried batch writes a new object rather than replacing a spilled one.
        IfNoneMatch: '*',
      })
    );
    return [];
  } catch (err) {
    logger.warn('Could not spill messages to the bucket; they will come back', {
      error: (err as Error).message,
      count: spill.length,
      bucket: config.spillBucket,
      key,
    });
    return spill.map((s) => s.record);
  }
};

const spillRecords = async (
  spill: readonly OverflowedRecord[],
  config: SpillConfig
): Promise<SQSRecord[]> => {
  if (config.spillBucket !== undefined && config.queueUrl !== undefined) {
    return spillRecordsToBucket(spill, {
      ...config,
      spillBucket: config.spillBucket,
      queueUrl: config.queueUrl,
    });
  }
  const unmoved: SQSRecord[] = [];
  for (let i = 0; i < spill.length; i += 10) {
    const chunk = spill.slice(i, i + 10);
    try {
      const res = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: config.spillQueueUrl,
          Entries: chunk.map(({ record, reason }, j) => ({
            Id: String(j),
            MessageBody: record.body,
            MessageAttributes: {
              [OVERFLOW_ATTRIBUTES.errorName]: text(SPILLED_ERROR_NAME),
              [OVERFLOW_ATTRIBUTES.errorMessage]: text(reason),
              [OVERFLOW_ATTRIBUTES.sourceMessageId]: text(record.messageId),
              [OVERFLOW_ATTRIBUTES.sentTimestamp]: text(record.attributes.SentTimestamp),
              [OVERFLOW_ATTRIBUTES.spilledFrom]: text(config.input),
            },
          })),
        })
      );
      for (const failed of res.Failed ?? []) {
        const entry = chunk[Number(failed.Id)];
        if (entry) unmoved.push(entry.record);
      }
    } catch (err) {
      logger.warn('Could not spill messages; they will come back', {
        error: (err as Error).message,
        count: chunk.length,
      });
      unmoved.push(...chunk.map((s) => s.record));
    }
  }
  return unmoved;
};

/** Visible messages in the queue now (ApproximateNumberOfMessages; eventually consistent). */
const readBacklog = async (queueUrl: string): Promise<number> => {
  const res = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages'],
    })
  );
  return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
};

const emitCounts = (metricName: string, input: string, counts: Map<string, number>): void => {
  for (const [tenant, count] of counts) {
    const single = metrics.singleMetric();
    // Default dimensions survive the single metric's publish-on-add (see emitTenantMetric).
    single.setDefaultDimensions({
      [METRIC_DIMENSIONS.input]: input,
      [METRIC_DIMENSIONS.tenant]: tenant,
    });
    single.addMetric(metricName, MetricUnit.Count, count);
  }
};

export interface AppliedOverflow {
  /** The records to process. */
  keep: SQSRecord[];
  /** Records the policy could not move aside (spill send failed): report them as failures. */
  failures: SQSBatchItemFailure[];
}

/**
 * Applies the policy to one batch: reads the backlog when it needs it, spills,
 * then logs once and counts `Dropped`/`Spilled` per tenant. Only records that
 * were actually moved are counted as spilled.
 */
export const applyOverflow = async (
  records: readonly SQSRecord[],
  config: OverflowConfig | undefined,
  tenantsOf: (body: string) => string[],
  nowMs: number = Date.now()
): Promise<AppliedOverflow> => {
  if (!config || config.policy === 'block') return { keep: [...records], failures: [] };
  const backlog = config.policy === 'dropNewest' ? await readBacklog(config.queueUrl) : undefined;
  const decision = decideOverflow(records, config, { nowMs, backlog });
  const unmoved = config.policy === 'spill' ? await spillRecords(decision.spill, config) : [];
  const spilled = decision.spill.filter((s) => !unmoved.includes(s.record));
  if (decision.drop.length > 0 || spilled.length > 0) {
    logger.warn('Overflow policy applied to the batch', {
      input: config.input,
      policy: config.policy,
      records: records.length,
      dropped: decision.drop.length,
      spilled: spilled.length,
      unmoved: unmoved.length,
      reason: (decision.drop[0] ?? spilled[0])?.reason,
      messageIds: [...decision.drop, ...spilled].map((d) => d.record.messageId),
    });
    emitCounts(OVERFLOW_METRICS.dropped, config.input, countByTenant(decision.drop, tenantsOf));
    emitCounts(OVERFLOW_METRICS.spilled, config.input, countByTenant(spilled, tenantsOf));
  }
  return {
    keep: decision.keep,
    failures: unmoved.map((r) => ({ itemIdentifier: r.messageId })),
  };
};
