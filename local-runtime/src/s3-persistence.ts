import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/**
 * fauxqs 2.4.1's S3 persistence interface (dist/s3/s3Persistence.d.ts), which its
 * S3Store calls synchronously around every change. Declared here because the
 * package does not export it; `startEmulator` checks the store still has the
 * `persistence` slot.
 */
export interface FauxqsS3Object {
  key: string;
  body: Buffer;
  contentType: string;
  contentLength: number;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
  [field: string]: unknown;
}

export interface FauxqsMultipartPart {
  partNumber: number;
  body: Buffer;
  etag: string;
  lastModified: Date;
  checksumValue?: string;
}

export interface FauxqsMultipartUpload {
  uploadId: string;
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  parts: Map<number, FauxqsMultipartPart>;
  initiated: Date;
  [field: string]: unknown;
}

/** The S3Store methods `loadS3` restores through. */
export interface FauxqsS3StoreRestore {
  createBucket(name: string, type?: string): void;
  setBucketCreationDate(name: string, date: Date): void;
  restoreBucketLifecycleConfiguration(name: string, config: string): void;
  restoreObject(bucket: string, obj: FauxqsS3Object): void;
  restoreMultipartUpload(upload: FauxqsMultipartUpload): void;
}

/** An object body opened for reading, with the metadata it was written with. */
export interface OpenedObject {
  fd: number;
  size: number;
  etag: string;
  lastModified: Date;
}

interface IndexEntry {
  stem: string;
  etag: string;
  size: number;
  lastModified: Date;
}

/** A file name for one identity tuple: nothing the client sent reaches the file system. */
const digest = (...parts: string[]) =>
  createHash('sha256')
    .update(parts.map((p) => `${Buffer.byteLength(p)}:${p}`).join(''))
    .digest('hex');

const dateOf = (v: unknown) => new Date(String(v));

/**
 * S3 storage for fauxqs that never derives a path from a key, bucket, upload id
 * or part number.
 *
 * fauxqs's own FileS3Persistence joins the key onto its directory (only a few
 * characters are %-encoded, `/` and `..` are kept), so a key like
 * `a/../../../etc/x` writes, and DeleteObject deletes, files outside the storage
 * directory, and a key segment over ~250 bytes fails with ENAMETOOLONG although
 * S3 allows 1,024-byte keys. Here every file is named by the SHA-256 of the
 * tuple it stores (length-prefixed, so no two tuples collide by concatenation);
 * the literal bucket and key live only inside the JSON metadata record.
 *
 * Layout under `root`:
 *   buckets/<sha256(bucket)>.json                 name, creationDate, type
 *   buckets/<sha256(bucket)>.lifecycle.xml
 *   objects/<sha256(bucket, key)>.data / .meta.json
 *   multipart/<sha256(uploadId)>/upload.json
 *   multipart/<sha256(uploadId)>/<sha256(partNumber)>.data / .meta.json
 *
 * Bodies are written to a fresh temporary file and renamed over the old one, so
 * a reader that opened the previous body keeps reading exactly those bytes (an
 * overwrite during a streamed GET can no longer tear it).
 */
export class HashedS3Persistence {
  private readonly bucketsDir: string;
  private readonly objectsDir: string;
  private readonly multipartDir: string;
  /** bucket -> key -> what was last written; DeleteObjectsByBucket and openObject use it. */
  private readonly index = new Map<string, Map<string, IndexEntry>>();

  constructor(readonly root: string) {
    this.bucketsDir = path.join(root, 'buckets');
    this.objectsDir = path.join(root, 'objects');
    this.multipartDir = path.join(root, 'multipart');
    for (const d of [this.bucketsDir, this.objectsDir, this.multipartDir])
      mkdirSync(d, { recursive: true });
  }

  /** Where an object's body would be; exposed for tests that prove where bytes land. */
  objectDataPath(bucket: string, key: string): string {
    return path.join(this.objectsDir, `${digest(bucket, key)}.data`);
  }

  /**
   * Opens the body of (bucket, key) as stored now; undefined when there is none.
   * Synchronous on purpose: fauxqs writes synchronously too, so the metadata and
   * the opened file belong to the same write.
   */
  openObject(bucket: string, key: string): OpenedObject | undefined {
    const entry = this.index.get(bucket)?.get(key);
    if (!entry) return undefined;
    let fd: number;
    try {
      fd = openSync(path.join(this.objectsDir, `${entry.stem}.data`), 'r');
    } catch {
      return undefined;
    }
    if (fstatSync(fd).size !== entry.size) {
      closeSync(fd);
      return undefined;
    }
    return { fd, size: entry.size, etag: entry.etag, lastModified: entry.lastModified };
  }

  // ── Buckets ──

  insertBucket(name: string, creationDate: Date, type: string): void {
    writeFileSync(
      path.join(this.bucketsDir, `${digest(name)}.json`),
      JSON.stringify({ name, creationDate: creationDate.toISOString(), type })
    );
    if (!this.index.has(name)) this.index.set(name, new Map());
  }

  deleteBucket(name: string): void {
    this.deleteObjectsByBucket(name);
    this.index.delete(name);
    for (const suffix of ['.json', '.lifecycle.xml'])
      rmSync(path.join(this.bucketsDir, `${digest(name)}${suffix}`), { force: true });
  }

  saveBucketLifecycleConfiguration(bucket: string, config: string): void {
    writeFileSync(path.join(this.bucketsDir, `${digest(bucket)}.lifecycle.xml`), config);
  }

  deleteBucketLifecycleConfiguration(bucket: string): void {
    rmSync(path.join(this.bucketsDir, `${digest(bucket)}.lifecycle.xml`), { force: true });
  }

  // ── Objects ──

  upsertObject(bucket: string, obj: FauxqsS3Object): void {
    const stem = digest(bucket, obj.key);
    this.writeAtomically(path.join(this.objectsDir, `${stem}.data`), obj.body);
    const { body: _body, ...meta } = obj;
    this.writeAtomically(
      path.join(this.objectsDir, `${stem}.meta.json`),
      JSON.stringify({ ...meta, bucket, lastModified: obj.lastModified.toISOString() })
    );
    this.remember(bucket, obj, stem);
  }

  private remember(bucket: string, obj: FauxqsS3Object, stem: string) {
    let keys = this.index.get(bucket);
    if (!keys) {
      keys = new Map();
      this.index.set(bucket, keys);
    }
    keys.set(obj.key, {
      stem,
      etag: obj.etag,
      size: obj.contentLength,
      lastModified: obj.lastModified,
    });
  }

  deleteObject(bucket: string, key: string): void {
    const stem = digest(bucket, key);
    for (const suffix of ['.data', '.meta.json'])
      rmSync(path.join(this.objectsDir, `${stem}${suffix}`), { force: true });
    this.index.get(bucket)?.delete(key);
  }

  deleteObjectsByBucket(bucket: string): void {
    for (const key of [...(this.index.get(bucket)?.keys() ?? [])]) this.deleteObject(bucket, key);
  }

  deleteAllObjects(): void {
    for (const bucket of [...this.index.keys()]) this.deleteObjectsByBucket(bucket);
  }

  renameObject(bucket: string, sourceKey: string, destKey: string): void {
    if (sourceKey === destKey) return;
    const from = digest(bucket, sourceKey);
    const to = digest(bucket, destKey);
    const meta = JSON.parse(readFileSync(path.join(this.objectsDir, `${from}.meta.json`), 'utf8'));
    renameSync(
      path.join(this.objectsDir, `${from}.data`),
      path.join(this.objectsDir, `${to}.data`)
    );
    this.writeAtomically(
      path.join(this.objectsDir, `${to}.meta.json`),
      JSON.stringify({ ...meta, key: destKey })
    );
    rmSync(path.join(this.objectsDir, `${from}.meta.json`), { force: true });
    const keys = this.index.get(bucket);
    const entry = keys?.get(sourceKey);
    keys?.delete(sourceKey);
    if (entry) keys?.set(destKey, { ...entry, stem: to });
  }

  readBody(bucket: string, key: string): Buffer {
    return readFileSync(path.join(this.objectsDir, `${digest(bucket, key)}.data`));
  }

  // ── Multipart uploads ──

  insertMultipartUpload(upload: FauxqsMultipartUpload): void {
    const dir = path.join(this.multipartDir, digest(upload.uploadId));
    mkdirSync(dir, { recursive: true });
    const { parts: _parts, ...meta } = upload;
    writeFileSync(
      path.join(dir, 'upload.json'),
      JSON.stringify({ ...meta, initiated: upload.initiated.toISOString() })
    );
  }

  upsertMultipartPart(uploadId: string, part: FauxqsMultipartPart): void {
    const dir = path.join(this.multipartDir, digest(uploadId));
    mkdirSync(dir, { recursive: true });
    const stem = digest(String(part.partNumber));
    this.writeAtomically(path.join(dir, `${stem}.data`), part.body);
    const { body: _body, ...meta } = part;
    writeFileSync(
      path.join(dir, `${stem}.meta.json`),
      JSON.stringify({ ...meta, lastModified: part.lastModified.toISOString() })
    );
  }

  deleteMultipartUpload(uploadId: string): void {
    rmSync(path.join(this.multipartDir, digest(uploadId)), { recursive: true, force: true });
  }

  completeMultipartUpload(uploadId: string, bucket: string, obj: FauxqsS3Object): void {
    this.upsertObject(bucket, obj);
    this.deleteMultipartUpload(uploadId);
  }

  deleteAllMultipartUploads(): void {
    rmSync(this.multipartDir, { recursive: true, force: true });
    mkdirSync(this.multipartDir, { recursive: true });
  }

  // ── Start-up load (fauxqs calls it when a store is built over existing data) ──

  loadS3(store: FauxqsS3StoreRestore): void {
    for (const file of readdirSync(this.bucketsDir)) {
      if (!/^[0-9a-f]{64}\.json$/.test(file)) continue;
      const meta = JSON.parse(readFileSync(path.join(this.bucketsDir, file), 'utf8'));
      store.createBucket(meta.name, meta.type);
      store.setBucketCreationDate(meta.name, dateOf(meta.creationDate));
      const lifecycle = path.join(this.bucketsDir, file.replace(/\.json$/, '.lifecycle.xml'));
      if (existsSync(lifecycle))
        store.restoreBucketLifecycleConfiguration(meta.name, readFileSync(lifecycle, 'utf8'));
    }
    for (const file of readdirSync(this.objectsDir)) {
      if (!file.endsWith('.meta.json')) continue;
      const { bucket, ...meta } = JSON.parse(
        readFileSync(path.join(this.objectsDir, file), 'utf8')
      );
      const obj = {
        ...meta,
        body: Buffer.alloc(0), // read on demand, as fauxqs's own persistence does
        lastModified: dateOf(meta.lastModified),
      } as FauxqsS3Object;
      store.restoreObject(bucket, obj);
      this.remember(bucket, obj, file.slice(0, -'.meta.json'.length));
    }
    for (const dirName of readdirSync(this.multipartDir)) {
      const dir = path.join(this.multipartDir, dirName);
      const uploadFile = path.join(dir, 'upload.json');
      if (!existsSync(uploadFile)) continue;
      const meta = JSON.parse(readFileSync(uploadFile, 'utf8'));
      const parts = new Map<number, FauxqsMultipartPart>();
      for (const file of readdirSync(dir)) {
        if (!file.endsWith('.meta.json')) continue;
        const part = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
        parts.set(part.partNumber, {
          ...part,
          body: readFileSync(path.join(dir, file.replace(/\.meta\.json$/, '.data'))),
          lastModified: dateOf(part.lastModified),
        });
      }
      store.restoreMultipartUpload({ ...meta, parts, initiated: dateOf(meta.initiated) });
    }
  }

  purgeAll(): void {
    for (const d of [this.bucketsDir, this.objectsDir, this.multipartDir]) {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { recursive: true });
    }
    this.index.clear();
  }

  close(): void {
    // Nothing is held open between calls.
  }

  /** Temp file + rename: an open reader keeps the old bytes, a crash leaves no half file. */
  private writeAtomically(file: string, data: Buffer | string): void {
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, data);
      renameSync(tmp, file);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
      throw err;
    }
  }
}
