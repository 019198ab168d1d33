import { readFileSync } from 'node:fs';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  type Manifest,
  ManifestSchema,
  manifestKey,
  type SourceObject,
  videoIdFor,
} from '../../contract/index.js';

/**
 * Puts an upload (a file's path, or bytes) and names the video it starts: the
 * source the starter will see (bucket, key, version, ETag) and its videoId, so
 * a test can wait for that video's manifest and execution.
 */
export const putUpload = async (
  s3: S3Client,
  bucket: string,
  key: string,
  body: string | Buffer,
  metadata?: Record<string, string>
): Promise<{ source: SourceObject; videoId: string }> => {
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: typeof body === 'string' ? readFileSync(body) : body,
      Metadata: metadata,
    })
  );
  const source: SourceObject = {
    bucket,
    key,
    versionId: put.VersionId,
    etag: put.ETag?.replaceAll('"', ''),
  };
  return { source, videoId: videoIdFor(source) };
};

/** The video's manifest, parsed, or undefined while it is not written (poll it). */
export const manifestIfWritten = async (
  s3: S3Client,
  outputBucket: string,
  videoId: string
): Promise<Manifest | undefined> => {
  try {
    const res = await s3.send(
      new GetObjectCommand({ Bucket: outputBucket, Key: manifestKey(videoId) })
    );
    return ManifestSchema.parse(JSON.parse(await res.Body!.transformToString()));
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return undefined;
    throw err;
  }
};
