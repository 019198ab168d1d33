import * as z from 'zod/mini';
import {
  type Manifest,
  manifestKey,
  PROCESSED_EVENT_ATTRIBUTES,
  PROCESSED_EVENT_TYPES,
  REJECTED_REASON_PREFIX,
  type VideoProcessedEvent,
  type WorkflowInput,
} from '../../contract/index.js';
import { nothingRunManifest } from '../aggregate/nothing-run.js';

/**
 * The `reject` overflow policy: an upload over a limit ends at once with a
 * FAILED manifest (reason `rejected: over <limit>`) and the VideoProcessed
 * FAILED event, written the way the verdict keeper writes its verdicts: the
 * manifest only if none exists (If-None-Match: *), so a verdict already there
 * stands and is not announced twice.
 */

/** The rejection's I/O, injected so the decision stays testable. */
export interface RejectIo {
  /** PutObject with If-None-Match: *; `exists` when S3 answers 412 (or 409). */
  putIfAbsent(bucket: string, key: string, body: unknown): Promise<'written' | 'exists'>;
  getJson(bucket: string, key: string): Promise<unknown | undefined>;
  publish(
    topicArn: string,
    event: VideoProcessedEvent,
    attributes: Record<string, string>,
    tenant: string
  ): Promise<void>;
}

const ExistingRejectionSchema = z.object({
  status: z.literal('FAILED'),
  reason: z.nullable(z.string()),
});

/** Pure: the limit a manifest says its upload was rejected over, or undefined when it is no rejection. */
export const rejectedLimit = (manifest: unknown): string | undefined => {
  const parsed = ExistingRejectionSchema.safeParse(manifest);
  if (!parsed.success || !parsed.data.reason?.startsWith(REJECTED_REASON_PREFIX)) return undefined;
  return parsed.data.reason.slice(REJECTED_REASON_PREFIX.length);
};

/**
 * Pure: the FAILED manifest of an upload that was never started. No execution,
 * no probe, no branches, nothing run, so the estimate is 0; `ending` and
 * `execution` are null as on any manifest the verdict keeper did not write.
 */
export const rejectionManifest = (input: WorkflowInput, reason: string, now: Date): Manifest =>
  nothingRunManifest(input, reason, now);

/**
 * Writes the rejection and publishes it. When the video already has a
 * manifest, it stands: if it is a rejection (an earlier attempt wrote it and
 * may have failed to publish) the event is published again (`republished`;
 * SNS delivery is at least once anyway), any other manifest is `kept`.
 */
export const rejectOverLimit = async (
  input: WorkflowInput,
  reason: string,
  target: { readonly outputBucket: string; readonly topicArn: string },
  io: RejectIo,
  now: Date = new Date()
): Promise<'written' | 'republished' | 'kept'> => {
  const key = manifestKey(input.videoId);
  const manifest = rejectionManifest(input, reason, now);
  let outcome: 'written' | 'republished' = 'written';
  let announced = reason;
  if ((await io.putIfAbsent(target.outputBucket, key, manifest)) === 'exists') {
    const existing = ExistingRejectionSchema.safeParse(await io.getJson(target.outputBucket, key));
    if (!existing.success || !existing.data.reason?.startsWith(REJECTED_REASON_PREFIX)) {
      return 'kept';
    }
    outcome = 'republished';
    announced = existing.data.reason;
  }
  // Same body, topic and attributes as the aggregator's, so the Alerts filter (status) catches it.
  await io.publish(
    target.topicArn,
    {
      videoId: input.videoId,
      status: 'FAILED',
      reason: announced,
      source: input.source,
      manifest: { bucket: target.outputBucket, key },
    },
    {
      [PROCESSED_EVENT_ATTRIBUTES.status]: 'FAILED',
      [PROCESSED_EVENT_ATTRIBUTES.type]: PROCESSED_EVENT_TYPES.processed,
    },
    input.tenant
  );
  return outcome;
};
