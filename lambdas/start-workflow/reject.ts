import * as z from 'zod/mini';
import { type Manifest, REJECTED_REASON_PREFIX, type WorkflowInput } from '../../contract/index.js';
import { type FailedVerdictIo, writeFailedVerdict } from '../aggregate/failed-verdict.js';
import { nothingRunManifest } from '../aggregate/nothing-run.js';

/**
 * The `reject` overflow policy: an upload over a limit ends at once with a
 * FAILED manifest (reason `rejected: over <limit>`) and the VideoProcessed
 * FAILED event, written the way the verdict keeper writes its verdicts: the
 * manifest only if none exists (If-None-Match: *), so a verdict already there
 * stands and is not announced twice.
 */

/** The rejection's I/O: a FAILED verdict's (failed-verdict.ts). */
export type RejectIo = FailedVerdictIo;

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
  const written = await writeFailedVerdict(
    input,
    rejectionManifest(input, reason, now),
    target,
    io,
    (existing) => {
      const limit = rejectedLimit(existing);
      return limit === undefined ? undefined : `${REJECTED_REASON_PREFIX}${limit}`;
    }
  );
  return written.outcome;
};
