import { readFileSync } from 'node:fs';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestSchema, manifestKey, videoIdFor } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import {
  type AdversarialEnv,
  listKeys,
  poll,
  type RawResponse,
  rawRequest,
  startAdversarial,
} from './harness.js';

/**
 * Issue #17: the console read more than pipeline outputs. `/api/artifact?key=
 * outputs/<id>/./_work/...` returned an internal record, and `/api/videos/..%2F..%2F
 * <upload bucket>%2Fuploads%2Fevil` read a manifest.json an uploader planted in the
 * upload bucket. Each case below first shows the target exists (the SDK can read it),
 * then that the console answers 404 without any of its content. The player's route,
 * `/api/hls/<videoId>/<file>`, serves that video's `hls/` folder and nothing else.
 */

const PLANTED = 'planted-by-an-uploader';

let env: AdversarialEnv;
let consoleUrl: string;
let videoId: string;
let internalKey: string;
let internalBody: string;

const get = (path: string): Promise<RawResponse> => rawRequest(consoleUrl, path);
const artifact = (key: string) => get(`/api/artifact?key=${encodeURIComponent(key)}`);
const readObject = async (bucket: string, key: string) =>
  (await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

beforeAll(async () => {
  // Prepare (shared): one finished run, so outputs/<id>/ holds a manifest, thumbnails and
  // the workflow's _work/ records; and a manifest-shaped object planted in the upload bucket.
  env = await startAdversarial('console-keys', { console: true });
  consoleUrl = env.console!.url;
  const clip = await makeClip({ seconds: 2, width: 160, height: 90 });
  const key = 'uploads/keys-clip.mp4';
  const put = await env.s3.send(
    new PutObjectCommand({ Bucket: env.out.UploadBucketName, Key: key, Body: readFileSync(clip) })
  );
  videoId = videoIdFor({
    bucket: env.out.UploadBucketName,
    key,
    versionId: put.VersionId,
    etag: put.ETag?.replaceAll('"', ''),
  });
  await poll(
    `the manifest of ${videoId}`,
    async () =>
      (await listKeys(env.s3, env.out.OutputBucketName, manifestKey(videoId))).length > 0
        ? true
        : undefined,
    180_000
  );
  const work = await listKeys(env.s3, env.out.OutputBucketName, `outputs/${videoId}/_work/`);
  internalKey = work[0]!;
  internalBody = await readObject(env.out.OutputBucketName, internalKey);
  await env.s3.send(
    new PutObjectCommand({
      Bucket: env.out.UploadBucketName,
      Key: 'uploads/evil/manifest.json',
      Body: JSON.stringify({ note: PLANTED }),
    })
  );
});

afterAll(async () => {
  await env?.stop();
  cleanupMedia();
});

describe('the console reads only published outputs', () => {
  it.each([
    ['a dot segment before _work/ (issue #17)', () => internalKey.replace('/_work/', '/./_work/')],
    ['the _work/ record itself', () => internalKey],
    ['an escape back into _work/', () => internalKey.replace('/_work/', '/thumbnails/../_work/')],
    ['a percent-encoded dot segment', () => internalKey.replace('/_work/', '/%2e/_work/')],
    ['an encoded slash', () => internalKey.replace('/_work/', '/thumbnails%2F..%2F_work/')],
    ['a backslash escape', () => internalKey.replace('/_work/', '/thumbnails\\..\\_work/')],
    ['an empty segment', () => internalKey.replace('/_work/', '//_work/')],
  ])('artifact key with %s: 404, the internal record not served', async (_what, key) => {
    // Prepare: the record is there (the SDK reads it), so a 404 is a refusal, not an absence.
    expect(internalBody.length).toBeGreaterThan(0);
    const attack = key();

    // Act
    const res = await artifact(attack);

    // Assess
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({
      error: `not a published artifact: ${JSON.stringify(attack)}`,
    });
    expect(res.body).not.toContain(internalBody.slice(0, 40));
  });

  it.each([
    [
      'another bucket through ..',
      () => `outputs/${videoId}/../../${env.out.UploadBucketName}/uploads/evil/manifest.json`,
    ],
    ['the upload prefix', () => 'uploads/evil/manifest.json'],
    [
      'a bucket name as the first segment',
      () => `${env.out.UploadBucketName}/uploads/evil/manifest.json`,
    ],
    ['the audit prefix', () => `audit/${videoId}.json`],
  ])('artifact key into %s: 404, the planted object not served', async (_what, key) => {
    // Prepare
    expect(await readObject(env.out.UploadBucketName, 'uploads/evil/manifest.json')).toContain(
      PLANTED
    );

    // Act
    const res = await artifact(key());

    // Assess
    expect(res.status).toBe(404);
    expect(res.body).not.toContain(PLANTED);
    expect(JSON.parse(res.body).error).toMatch(/^not a published artifact: "/);
  });

  it.each([
    ['encoded slashes (issue #17)', () => `..%2F..%2F${env.out.UploadBucketName}%2Fuploads%2Fevil`],
    ['double encoding', () => `..%252F..%252F${env.out.UploadBucketName}%252Fuploads%252Fevil`],
    ['malformed encoding', () => '%E0%A4%A'],
  ])('/api/videos/<id> with %s: 404, the planted manifest not read', async (_what, segment) => {
    for (const suffix of ['', '/history']) {
      // Act
      const res = await get(`/api/videos/${segment()}${suffix}`);

      // Assess
      expect(res.status, suffix).toBe(404);
      expect(res.body).not.toContain(PLANTED);
      expect(JSON.parse(res.body).error).toMatch(/^no such video: "/);
    }
  });

  it.each([
    [
      'an escape out of hls/ into _work/',
      () => `${videoId}/..%2F${internalKey.split('/').slice(2).join('%2F')}`,
    ],
    [
      'a dot-dot the server folds (out of the video)',
      () => `${videoId}/%2e%2e/${internalKey.split('/').slice(2).join('/')}`,
    ],
    [
      'a plain .. the server folds',
      () => `${videoId}/../${internalKey.split('/').slice(2).join('/')}`,
    ],
    ['the manifest beside hls/', () => `${videoId}/..%2Fmanifest.json`],
    [
      'another bucket',
      () => `..%2F..%2F${env.out.UploadBucketName}%2Fuploads%2Fevil/manifest.json`,
    ],
  ])("/api/hls/ with %s: 404, nothing outside the video's hls/ served", async (_what, rest) => {
    // Prepare: the records are there, so a 404 is a refusal.
    expect(internalBody.length).toBeGreaterThan(0);

    // Act
    const res = await get(`/api/hls/${rest()}`);

    // Assess
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error).toMatch(/^not a published (HLS file|artifact): "/);
    expect(res.body).not.toContain(internalBody.slice(0, 40));
    expect(res.body).not.toContain(PLANTED);
  });

  it("serves the video's multivariant playlist through /api/hls/, as inert content", async () => {
    // Act
    const res = await get(`/api/hls/${videoId}/index.m3u8`);

    // Assess
    expect(res.status).toBe(200);
    expect(res.body.startsWith('#EXTM3U')).toBe(true);
    expect(res.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(res.headers['content-security-policy']).toBe("sandbox; default-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('still serves the run itself: its detail, manifest and a thumbnail, as inert content', async () => {
    // Act
    const detail = await get(`/api/videos/${videoId}`);
    const manifest = await artifact(manifestKey(videoId));
    const parsed = ManifestSchema.parse(JSON.parse(manifest.body));
    const thumbnail = parsed.branches
      .flatMap((b) => b.artifacts)
      .find((a) => a.contentType === 'image/jpeg');
    const image = thumbnail ? await artifact(thumbnail.key) : undefined;

    // Assess
    expect(detail.status).toBe(200);
    expect(JSON.parse(detail.body).videoId).toBe(videoId);
    expect(manifest.status).toBe(200);
    expect(parsed.videoId).toBe(videoId);
    expect(manifest.headers['content-security-policy']).toBe("sandbox; default-src 'none'");
    expect(manifest.headers['x-content-type-options']).toBe('nosniff');
    expect(image?.status).toBe(200);
    expect(image?.headers['content-type']).toBe('image/jpeg');
  });
});
