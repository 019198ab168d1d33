import {
  type Manifest,
  manifestKey,
  PROCESSED_EVENT_ATTRIBUTES,
  PROCESSED_EVENT_TYPES,
  type VideoProcessedEvent,
  type WorkflowInput,
} from '../../contract/index.js';

/** The I/O of a FAILED verdict, injected so the decisions around it stay pure and testable. */
export interface FailedVerdictIo {
  /** PutObject with If-None-Match: *; `exists` when S3 answers 412 (or 409, a concurrent write). */
  putIfAbsent(bucket: string, key: string, body: unknown): Promise<'written' | 'exists'>;
  getJson(bucket: string, key: string): Promise<unknown | undefined>;
  publish(
    topicArn: string,
    event: VideoProcessedEvent,
    attributes: Record<string, string>,
    tenant: string
  ): Promise<void>;
}

export type FailedVerdictOutcome =
  | { readonly outcome: 'written' | 'republished'; readonly reason: string | null }
  | { readonly outcome: 'kept'; readonly existing: unknown };

/**
 * A FAILED manifest written outside the aggregator (the verdict keeper, the `reject`
 * overflow policy), and its VideoProcessed FAILED event: one protocol for both.
 *
 * The write is conditional (If-None-Match: *), so a manifest already there stands.
 * When `earlierOwn` recognises it as this writer's own (an earlier attempt, which may
 * have failed to publish), the event is published again with the reason that manifest
 * holds (`republished`; SNS delivery is at least once anyway); any other manifest is
 * `kept` and nothing is published. `earlierOwn` answers that reason, or undefined.
 */
export const writeFailedVerdict = async (
  input: Pick<WorkflowInput, 'videoId' | 'source' | 'tenant'>,
  manifest: Manifest,
  target: { readonly outputBucket: string; readonly topicArn: string },
  io: FailedVerdictIo,
  earlierOwn: (existing: unknown) => string | null | undefined
): Promise<FailedVerdictOutcome> => {
  const key = manifestKey(input.videoId);
  let outcome: 'written' | 'republished' = 'written';
  let reason = manifest.reason;
  if ((await io.putIfAbsent(target.outputBucket, key, manifest)) === 'exists') {
    const existing = await io.getJson(target.outputBucket, key);
    const own = earlierOwn(existing);
    if (own === undefined) return { outcome: 'kept', existing };
    outcome = 'republished';
    reason = own;
  }
  // Same body, topic and attributes as the aggregator's, so the Alerts filter (status) catches it.
  await io.publish(
    target.topicArn,
    {
      videoId: input.videoId,
      status: 'FAILED',
      reason,
      source: input.source,
      manifest: { bucket: target.outputBucket, key },
    },
    {
      [PROCESSED_EVENT_ATTRIBUTES.status]: 'FAILED',
      [PROCESSED_EVENT_ATTRIBUTES.type]: PROCESSED_EVENT_TYPES.processed,
    },
    input.tenant
  );
  return { outcome, reason };
};
