import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, videoIdFor } from '../../contract/index.js';
import { cleanupMedia, makeClip, makeEmpty } from '../../fixtures/media.js';
import { type ChaosRuntime, manifestOf, startChaosRuntime } from '../chaos/harness.js';
import { filesBelow, rawRequest } from '../helpers/raw-http.js';

/**
 * Attacks on the local runtime's S3 keys, on the synthesized product stack.
 * Each case states the attack, what S3 (and so the runtime) must answer, and
 * proves nothing was written where it must not be: the local S3 never derives
 * a file path from a key (local-runtime/src/s3-persistence.ts).
 */

const s3Scope = {
  authorization:
    'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0',
};

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ({
      name: (e as Error).name,
      status: (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
    })
  );

describe('adversarial: S3 keys on the local runtime', () => {
  let env: ChaosRuntime;
  let storage: string;
  let outside: string;
  let uploadBucket: string;
  const run = Date.now().toString(36);

  let stateDir: string;

  beforeAll(async () => {
    // The storage dir's parent is this test's own (the runtime's --state-dir), so that "nothing
    // new beside the storage dir" is not disturbed by other processes writing to the shared
    // temp dir (the other adversarial files run at the same time).
    stateDir = mkdtempSync(path.join(tmpdir(), 'adversarial-state-'));
    env = await startChaosRuntime('adversarial-s3-keys', undefined, { stateDir });
    storage = env.runtime.emulator.storageDir;
    uploadBucket = env.out.UploadBucketName;
    outside = mkdtempSync(path.join(tmpdir(), 'adversarial-outside-'));
  });
  afterAll(async () => {
    await env?.stop();
    if (outside) rmSync(outside, { recursive: true, force: true });
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    cleanupMedia();
  });

  it('a key climbing out of the storage dir (`other/../../…/<dir>/pwned`) is an object: nothing is written or deleted outside', async () => {
    // Prepare: enough `..` to reach / from the storage dir; a victim file where
    // a key-derived path (fauxqs's own persistence) would land.
    const key = `other/${'../'.repeat(16)}${outside.slice(1)}/pwned`;
    writeFileSync(path.join(outside, 'victim.data'), 'keep me');
    const parent = path.dirname(storage);
    const parentBefore = readdirSync(parent).sort();
    const outsideBefore = filesBelow(outside);

    // Act: write the key, then delete the same-named victim's key.
    await env.s3.send(new PutObjectCommand({ Bucket: uploadBucket, Key: key, Body: 'attack' }));
    const victimKey = `other/${'../'.repeat(16)}${outside.slice(1)}/victim`;
    await env.s3.send(new DeleteObjectCommand({ Bucket: uploadBucket, Key: victimKey }));

    // Assess: literal object; the outside dir and the storage dir's parent are untouched.
    const got = await env.s3.send(new GetObjectCommand({ Bucket: uploadBucket, Key: key }));
    expect(await got.Body?.transformToString()).toBe('attack');
    expect(filesBelow(outside)).toEqual(outsideBefore);
    expect(readFileSync(path.join(outside, 'victim.data'), 'utf8')).toBe('keep me');
    expect(
      readdirSync(parent)
        .sort()
        .filter((n) => !parentBefore.includes(n))
    ).toEqual([]);
    await env.s3.send(new DeleteObjectCommand({ Bucket: uploadBucket, Key: key }));
  });

  it('long keys: a 300-byte segment and a 1,024-byte key are stored (no ENAMETOOLONG 500 leaking a path); 1,025 bytes is 400 KeyTooLongError', async () => {
    // Prepare
    const segment = `other/${'s'.repeat(300)}/x`;
    const max = `other/${'m'.repeat(1024 - 'other/'.length)}`;
    const over = `${max}m`;
    const before = filesBelow(storage);

    // Act
    await env.s3.send(new PutObjectCommand({ Bucket: uploadBucket, Key: segment, Body: 's' }));
    await env.s3.send(new PutObjectCommand({ Bucket: uploadBucket, Key: max, Body: 'm' }));
    const refused = await errorOf(
      env.s3.send(new PutObjectCommand({ Bucket: uploadBucket, Key: over, Body: 'o' }))
    );
    const overRaw = await rawRequest(
      env.runtime.endpoint,
      'PUT',
      `/${uploadBucket}/${over}`,
      { ...s3Scope, 'content-length': 1 },
      Buffer.from('o')
    );

    // Assess
    expect(refused).toEqual({ name: 'KeyTooLongError', status: 400 });
    expect(overRaw.status).toBe(400);
    expect(overRaw.body).not.toContain(storage);
    for (const key of [segment, max]) {
      const head = await env.s3.send(new HeadObjectCommand({ Bucket: uploadBucket, Key: key }));
      expect(head.ContentLength).toBe(1);
    }
    // Two objects, two files each (body and metadata record): nothing for the refused key.
    expect(filesBelow(storage).filter((f) => !before.includes(f))).toHaveLength(4);
    for (const key of [segment, max])
      await env.s3.send(new DeleteObjectCommand({ Bucket: uploadBucket, Key: key }));
  });

  it('empty segments and odd characters (`//`, leading `/`, `%`, `+`, spaces, unicode) are stored and listed literally', async () => {
    // Prepare
    const keys = [
      `odd-${run}//double`,
      `odd-${run}/%2e%2e/encoded-dots`,
      `odd-${run}/100% + a b`,
      `odd-${run}/ünï😀`,
      `odd-${run}/trailing/`,
    ];

    // Act
    for (const key of keys) {
      await env.s3.send(new PutObjectCommand({ Bucket: uploadBucket, Key: key, Body: key }));
    }
    const listed = await env.s3.send(
      new ListObjectsV2Command({ Bucket: uploadBucket, Prefix: `odd-${run}/` })
    );

    // Assess
    expect((listed.Contents ?? []).map((c) => c.Key).sort()).toEqual([...keys].sort());
    for (const key of keys) {
      const got = await env.s3.send(new GetObjectCommand({ Bucket: uploadBucket, Key: key }));
      expect(await got.Body?.transformToString()).toBe(key);
      await env.s3.send(new DeleteObjectCommand({ Bucket: uploadBucket, Key: key }));
    }
  });

  it('user metadata over 2 KB is refused with 400 MetadataTooLarge and stores nothing', async () => {
    // Prepare: 12 KB, what the attacker's trial had accepted.
    const before = filesBelow(storage);

    // Act
    const refused = await errorOf(
      env.s3.send(
        new PutObjectCommand({
          Bucket: uploadBucket,
          Key: `meta-${run}`,
          Body: 'x',
          Metadata: { a: 'x'.repeat(6 * 1024), b: 'y'.repeat(6 * 1024) },
        })
      )
    );

    // Assess
    expect(refused).toEqual({ name: 'MetadataTooLarge', status: 400 });
    expect(filesBelow(storage)).toEqual(before);
  });

  it('a body-less PUT without Content-Type (the AWS CLI `s3api put-object` shape) stores a zero-byte object, not a 500', async () => {
    // Act
    const res = await rawRequest(env.runtime.endpoint, 'PUT', `/${uploadBucket}/zero-${run}`, {
      ...s3Scope,
      'content-length': 0,
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"d41d8cd98f00b204e9800998ecf8427e"');
    const head = await env.s3.send(
      new HeadObjectCommand({ Bucket: uploadBucket, Key: `zero-${run}` })
    );
    expect(head.ContentLength).toBe(0);
  });

  it('a zero-byte upload under uploads/ ends with a manifest that says why it failed', async () => {
    // Prepare
    const key = `uploads/adversarial/${run}/empty.mp4`;
    const put = await env.s3.send(
      new PutObjectCommand({
        Bucket: uploadBucket,
        Key: key,
        Body: readFileSync(await makeEmpty()),
      })
    );
    const videoId = videoIdFor({
      bucket: uploadBucket,
      key,
      versionId: put.VersionId,
      etag: put.ETag?.replaceAll('"', ''),
    });

    // Act
    const manifest: Manifest = await manifestOf(env, videoId, 240_000);

    // Assess
    expect(manifest.source.key).toBe(key);
    expect(manifest.status).toBe('FAILED');
    expect(manifest.reason).toBeTruthy();
  });

  it('an upload whose key has `..` under uploads/ is processed under its literal key and ends with a manifest', async () => {
    // Prepare: the request target keeps the dot segments literally, as S3 stores them; the
    // runtime used to notify for the resolved key (`uploads/<run>/dots.mp4`), which does not exist.
    const clip = readFileSync(
      await makeClip({ seconds: 1, width: 160, height: 120, audio: false })
    );
    const key = `uploads/adversarial/${run}/../dots.mp4`;
    const put = await rawRequest(
      env.runtime.endpoint,
      'PUT',
      `/${uploadBucket}/${key}`,
      { ...s3Scope, 'content-type': 'video/mp4', 'content-length': clip.length },
      clip
    );
    expect(put.status).toBe(200);
    const videoId = videoIdFor({
      bucket: uploadBucket,
      key,
      etag: put.headers.etag?.replaceAll('"', ''),
    });

    // Act
    const manifest: Manifest = await manifestOf(env, videoId, 240_000);

    // Assess: the literal key, and no object appeared at the resolved key.
    expect(manifest.source.key).toBe(key);
    expect(['COMPLETE', 'PARTIAL', 'FAILED']).toContain(manifest.status);
    if (manifest.status !== 'COMPLETE') expect(manifest.reason).toBeTruthy();
    const resolved = await errorOf(
      env.s3.send(
        new HeadObjectCommand({ Bucket: uploadBucket, Key: `uploads/adversarial/dots.mp4` })
      )
    );
    expect(resolved?.status).toBe(404);
  });
});
