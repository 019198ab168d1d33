import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound, rethrowClassified } from '../../contract/aws-errors.js';
import { TransientServiceError } from '../../contract/errors.js';
import {
  type CurrentPointer,
  CurrentPointerSchema,
  currentPointerKey,
} from '../../contract/index.js';

const isConditionFailure = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  // 412: the ETag moved; 409 ConditionalRequestConflict: a concurrent conditional write.
  return (
    e?.name === 'PreconditionFailed' ||
    e?.name === 'ConditionalRequestConflict' ||
    e?.$metadata?.httpStatusCode === 412 ||
    e?.$metadata?.httpStatusCode === 409
  );
};

/**
 * `written`: the candidate is now the pointer. `unchanged`: the pointer already
 * names it (a redelivered event). `superseded`: the candidate is no longer the
 * key's current object, so it must not become the pointer.
 */
export type PointerOutcome = 'written' | 'unchanged' | 'superseded';

/**
 * Compare-and-swap of `outputs/by-key/<hash>/current.json`: "the latest upload
 * wins", where the latest is the object S3 holds under the key now, checked
 * after reading the pointer (`isCurrent`, a HEAD). The event's sequencer is
 * recorded but decides nothing: it is what an event says, and a forged
 * `FFFF…` would otherwise pin the pointer above every real upload for good.
 *
 * Why this is enough: an upload's PUT completes before its event, so once a
 * newer upload's event has written the pointer, a HEAD made after reading that
 * pointer sees the newer object (S3 is strongly consistent) and an older
 * candidate stops as `superseded`. A write races only with another write, and
 * If-Match (If-None-Match: * when absent) makes the loser re-read and re-check.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export const recordCurrentUpload = async (
  s3: S3Client,
  outputBucket: string,
  candidate: CurrentPointer,
  isCurrent: () => Promise<boolean>,
  maxAttempts = 8
): Promise<PointerOutcome> => {
  const Key = currentPointerKey(candidate.bucket, candidate.key);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    let current: { pointer: CurrentPointer; etag: string } | undefined;
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: outputBucket, Key }));
      const pointer = CurrentPointerSchema.parse(JSON.parse(await res.Body!.transformToString()));
      current = { pointer, etag: res.ETag ?? '' };
    } catch (err) {
      if (!isNotFound(err)) rethrowClassified(err, `GetObject s3://${outputBucket}/${Key}`);
    }
    if (current?.pointer.videoId === candidate.videoId) return 'unchanged';
    if (!(await isCurrent())) return 'superseded';
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: outputBucket,
          Key,
          Body: `${JSON.stringify(candidate, null, 2)}\n`,
          ContentType: 'application/json',
          ...(current ? { IfMatch: current.etag } : { IfNoneMatch: '*' }),
        })
      );
      return 'written';
    } catch (err) {
      if (isConditionFailure(err)) continue;
      rethrowClassified(err, `PutObject s3://${outputBucket}/${Key}`);
    }
  }
  throw new TransientServiceError(
    `current.json for s3://${candidate.bucket}/${candidate.key}: ${maxAttempts} conflicting writers`
  );
};
