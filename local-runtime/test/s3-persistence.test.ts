import { closeSync, mkdtempSync, readdirSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type FauxqsMultipartUpload,
  type FauxqsS3Object,
  HashedS3Persistence,
} from '../src/s3-persistence.js';

/** The persistence on its own: file names, atomic replacement, and the start-up load. */

const object = (key: string, body: string, etag = `"${key.length}"`): FauxqsS3Object => ({
  key,
  body: Buffer.from(body),
  contentType: 'text/plain',
  contentLength: Buffer.byteLength(body),
  etag,
  lastModified: new Date('2026-01-01T00:00:00Z'),
  metadata: { m: 'v' },
});

/** Records what loadS3 restores, as fauxqs's S3Store would receive it. */
function recordingStore() {
  const calls = {
    buckets: [] as string[],
    objects: [] as { bucket: string; key: string; contentLength: number; bodyLength: number }[],
    uploads: [] as { key: string; parts: number[] }[],
  };
  return {
    calls,
    createBucket: (name: string) => calls.buckets.push(name),
    setBucketCreationDate: () => undefined,
    restoreBucketLifecycleConfiguration: () => undefined,
    restoreObject: (bucket: string, obj: FauxqsS3Object) =>
      calls.objects.push({
        bucket,
        key: obj.key,
        contentLength: obj.contentLength,
        bodyLength: obj.body.length,
      }),
    restoreMultipartUpload: (u: FauxqsMultipartUpload) =>
      calls.uploads.push({ key: u.key, parts: [...u.parts.keys()] }),
  };
}

describe('HashedS3Persistence', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'local-runtime-persistence-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names every file by a hash, whatever the key, upload id or part number', () => {
    // Prepare
    const p = new HashedS3Persistence(dir);

    // Act
    p.insertBucket('bkt', new Date(), 'general-purpose');
    p.upsertObject('bkt', object('../../etc/passwd', 'x'));
    p.insertMultipartUpload({
      uploadId: '../../u',
      bucket: 'bkt',
      key: '../k',
      contentType: 'x',
      metadata: {},
      parts: new Map(),
      initiated: new Date(),
    });
    p.upsertMultipartPart('../../u', {
      partNumber: Number.NaN,
      body: Buffer.from('p'),
      etag: '"p"',
      lastModified: new Date(),
    });

    // Assess
    for (const sub of ['buckets', 'objects', 'multipart']) {
      const walk = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? [e.name, ...walk(path.join(d, e.name))] : [e.name]
        );
      for (const name of walk(path.join(dir, sub))) {
        expect(name).toMatch(/^[0-9a-f]{64}(\.data|\.meta\.json|\.json)?$|^upload\.json$/);
      }
    }
    expect(readdirSync(dir).sort()).toEqual(['buckets', 'multipart', 'objects']);
  });

  it('an opened body keeps the bytes it had when the object is overwritten', () => {
    // Prepare
    const p = new HashedS3Persistence(dir);
    p.upsertObject('bkt', object('k', 'first version', '"1"'));
    const opened = p.openObject('bkt', 'k');
    expect(opened?.etag).toBe('"1"');

    // Act
    p.upsertObject('bkt', object('k', 'second, longer version', '"2"'));
    const buf = Buffer.alloc(64);
    const n = readSync(opened!.fd, buf, 0, buf.length, 0);
    closeSync(opened!.fd);

    // Assess
    expect(buf.subarray(0, n).toString()).toBe('first version');
    expect(p.openObject('bkt', 'k')?.etag).toBe('"2"');
    expect(p.readBody('bkt', 'k').toString()).toBe('second, longer version');
  });

  it('deleting a bucket removes its objects only', () => {
    // Prepare
    const p = new HashedS3Persistence(dir);
    p.upsertObject('one', object('a', 'x'));
    p.upsertObject('two', object('a', 'y'));

    // Act
    p.deleteObjectsByBucket('one');

    // Assess
    expect(p.openObject('one', 'a')).toBeUndefined();
    expect(p.readBody('two', 'a').toString()).toBe('y');
    expect(readdirSync(path.join(dir, 'objects'))).toHaveLength(2);
  });

  it('loadS3 restores buckets, literal keys (bodies on demand) and multipart uploads with their parts', () => {
    // Prepare: what a previous run left.
    const before = new HashedS3Persistence(dir);
    before.insertBucket('bkt', new Date(), 'general-purpose');
    before.upsertObject('bkt', object('a/../b c', 'body'));
    before.insertMultipartUpload({
      uploadId: 'u1',
      bucket: 'bkt',
      key: 'mp//k',
      contentType: 'x',
      metadata: {},
      parts: new Map(),
      initiated: new Date(),
    });
    before.upsertMultipartPart('u1', {
      partNumber: 2,
      body: Buffer.from('p2'),
      etag: '"p2"',
      lastModified: new Date(),
    });
    const store = recordingStore();

    // Act
    const after = new HashedS3Persistence(dir);
    after.loadS3(store);

    // Assess
    expect(store.calls.buckets).toEqual(['bkt']);
    expect(store.calls.objects).toEqual([
      { bucket: 'bkt', key: 'a/../b c', contentLength: 4, bodyLength: 0 },
    ]);
    expect(store.calls.uploads).toEqual([{ key: 'mp//k', parts: [2] }]);
    expect(after.readBody('bkt', 'a/../b c').toString()).toBe('body');
    expect(after.openObject('bkt', 'a/../b c')?.size).toBe(4);
  });
});
