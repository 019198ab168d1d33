import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { logger, metrics } from '../shared/powertools.js';
import { sqs } from '../shared/sqs.js';

/**
 * The audit path's stale-message rule (draining when clogged). A message that
 * waited in the queue longer than the configured age (SQS `SentTimestamp`) is
 * not audited in line: it is moved to the consumer's DLQ with the reason as
 * message attributes, so a backlog after an outage does not delay the audit
 * of fresh uploads, and an operator can redrive the stale ones later. Nothing
 * is deleted without having been moved: a record whose move failed is
 * reported as a batch item failure and comes back.
 */

/** Env of the audit writer: the age in seconds past which a message is stale. Unset: no rule. */
export const STALE_AFTER_ENV = 'AUDIT_STALE_AFTER_SECONDS';
/** The `error-name` attribute of a stale message in the DLQ (poison messages carry theirs). */
export const STALE_ERROR_NAME = 'StaleMessage';

export const staleAfterMsFromEnv = (
  raw: string | undefined = process.env[STALE_AFTER_ENV]
): number | undefined => {
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new Error(`${STALE_AFTER_ENV} must be a positive whole number of seconds, got "${raw}"`);
  }
  return seconds * 1000;
};

export interface StaleRecord {
  record: SQSRecord;
  /** Why it was moved aside, as the DLQ attribute says it. */
  reason: string;
}

/**
 * Pure: splits a batch into stale and fresh records. A record without a
 * readable SentTimestamp cannot be judged, so it is audited (fresh).
 */
export const partitionStale = (
  records: readonly SQSRecord[],
  nowMs: number,
  staleAfterMs: number | undefined
): { stale: StaleRecord[]; fresh: SQSRecord[] } => {
  const stale: StaleRecord[] = [];
  const fresh: SQSRecord[] = [];
  for (const record of records) {
    const sent = Number(record.attributes.SentTimestamp);
    const age = nowMs - sent;
    if (staleAfterMs === undefined || !Number.isFinite(sent) || age <= staleAfterMs) {
      fresh.push(record);
      continue;
    }
    stale.push({
      record,
      reason:
        `waited ${Math.round(age / 1000)} s in the queue (sent ${new Date(sent).toISOString()}), ` +
        `more than the ${staleAfterMs / 1000} s the audit path allows`,
    });
  }
  return { stale, fresh };
};

const text = (v: string) => ({ DataType: 'String', StringValue: v.slice(0, 1024) || '-' });

/**
 * Sends the stale records to the DLQ, ten per SendMessageBatch, with the reason.
 * Returns the ones that could not be moved (the caller reports them as failures).
 */
export const moveAside = async (
  stale: readonly StaleRecord[],
  deadLetterQueueUrl: string
): Promise<SQSRecord[]> => {
  const unmoved: SQSRecord[] = [];
  for (let i = 0; i < stale.length; i += 10) {
    const chunk = stale.slice(i, i + 10);
    try {
      const res = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: deadLetterQueueUrl,
          Entries: chunk.map(({ record, reason }, j) => ({
            Id: String(j),
            MessageBody: record.body,
            MessageAttributes: {
              'error-name': text(STALE_ERROR_NAME),
              'error-message': text(reason),
              'source-message-id': text(record.messageId),
              'sent-timestamp': text(record.attributes.SentTimestamp),
            },
          })),
        })
      );
      for (const failed of res.Failed ?? []) {
        const entry = chunk[Number(failed.Id)];
        if (entry) unmoved.push(entry.record);
      }
    } catch (err) {
      logger.warn('Could not move stale messages aside; they will come back', {
        error: (err as Error).message,
        count: chunk.length,
      });
      unmoved.push(...chunk.map((s) => s.record));
    }
  }
  const moved = stale.length - unmoved.length;
  if (moved > 0) {
    logger.warn('Stale messages moved to the dead-letter queue', {
      moved,
      messageIds: stale.map((s) => s.record.messageId),
    });
    metrics.addMetric('AuditStaleMovedAside', MetricUnit.Count, moved);
  }
  return unmoved;
};
