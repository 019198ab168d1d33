import { requireEnv } from '../shared/env.js';
import { defineQueueConsumer } from '../shared/queue-consumer.js';
import { auditUploadMessage } from './logic.js';

/**
 * Second, independent subscriber to the upload topic: HEADs each upload and
 * writes an audit document. Env: AUDIT_BUCKET.
 */
export const { handler, processor } = defineQueueConsumer((body) =>
  auditUploadMessage(body, requireEnv('AUDIT_BUCKET'))
);
