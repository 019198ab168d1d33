import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TransientServiceError } from '../../contract/errors.js';
import {
  type CurrentPointer,
  CurrentPointerSchema,
  compareSequencers,
  currentPointerKey,
} from '../../contract/index.js';
import { isNotFound, rethrowClassified } from '../../shared/aws-errors.js';

/**
 * "The latest upload wins": is `candidate` a newer upload of the same key than
 * `current`? By S3's sequencer when both have one (the only order S3
 * guarantees for one key), else by event time; never by arrival order. An equal
 * upload is not newer, so a redelivered event rewrites nothing.
 */
export const isNewerUpload = (candidate: CurrentPointer, current: CurrentPointer): boolean => {
  if (candidate.sequencer && current.sequencer) {
    return compareSequencers(candidate.sequencer, current.sequencer) > 0;
  }
  return Date.parse(candidate.eventTime) > Date.parse(current.eventTime);
};

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

export type PointerOutcome = 'written' | 'kept-newer';

/**
 * Compare-and-swap of `outputs/by-key/<hash>/current.json`: read it with its
 * ETag, give up if it already names a newer (or the same) upload, else write
 * with If-Match (or If-None-Match: * when absent). A concurrent writer makes
 * the write fail with 412/409 and the loop re-reads, so a late, older run can
 * never overwrite a newer pointer.
 */
export const recordCurrentUpload = async (
  s3: S3Client,
  outputBucket: string,
  candidate: CurrentPointer,
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
    if (current && !isNewerUpload(candidate, current.pointer)) return 'kept-newer';
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
