import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT as REPO_ROOT } from '../src/index.js';
import { prepareStateDir } from '../src/state-dir.js';
import { type Fixture, startFixture } from './helpers.js';

/** `--state-dir`: S3 outlives a restart; the folder is checked before anything is written. */

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const tempDir = (name: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), `local-runtime-${name}-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

describe('--state-dir', () => {
  it('keeps an object across a restart, with its literal key and ETag', async () => {
    // Prepare
    const stateDir = path.join(tempDir('state'), 'kept');
    const key = 'uploads/a b/../%2e%2e/é?x=1#frag.mp4';
    const first: Fixture = await startFixture({ stateDir });
    const bucket = first.rt.outputs.DirectBucketName;
    let put: { ETag?: string };
    try {
      put = await first.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'kept bytes' })
      );
    } finally {
      await first.close();
    }

    // Act
    const second = await startFixture({ stateDir });
    cleanup.push(() => second.close());
    const head = await second.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const got = await second.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));

    // Assess
    expect(second.rt.outputs.DirectBucketName).toBe(bucket);
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(head.ETag).toBe(put.ETag);
    expect(await got.Body?.transformToString()).toBe('kept bytes');
    const names = readdirSync(path.join(stateDir, 's3', 'objects'));
    expect(names.every((n) => /^[0-9a-f]{64}\.(data|meta\.json)$/.test(n))).toBe(true);
  });

  it('without it, nothing outlives stop()', async () => {
    // Prepare
    const first = await startFixture();
    const bucket = first.rt.outputs.DirectBucketName;
    await first.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
    const storage = first.rt.emulator.storageDir;
    await first.close();

    // Act
    const second = await startFixture();
    cleanup.push(() => second.close());
    const head = second.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));

    // Assess
    await expect(head).rejects.toMatchObject({ name: 'NotFound' });
    expect(() => readdirSync(storage)).toThrow(/ENOENT/);
  });

  it('refuses a file, a folder of other files, and the repository sources', () => {
    // Prepare
    const base = tempDir('bad-state');
    const file = path.join(base, 'file');
    writeFileSync(file, 'x');
    const busy = path.join(base, 'busy');
    mkdirSync(busy);
    writeFileSync(path.join(busy, 'notes.txt'), 'mine');

    // Act + Assess
    expect(() => prepareStateDir(file)).toThrow(/exists and is not a directory/);
    expect(() => prepareStateDir(busy)).toThrow(
      /is not empty and has no local-runtime-state\.json/
    );
    expect(() => prepareStateDir(path.join(REPO_ROOT, 'lib', 'state'))).toThrow(
      /is inside the repository/
    );
    expect(() => prepareStateDir(REPO_ROOT)).toThrow(/is inside the repository/);
    expect(readdirSync(path.join(REPO_ROOT, 'lib')).includes('state')).toBe(false);
  });

  it('accepts a new folder, and the same folder again after a first start', () => {
    // Prepare
    const dir = path.join(tempDir('new-state'), 'a', 'b');

    // Act
    const first = prepareStateDir(dir);
    const again = prepareStateDir(dir);

    // Assess
    expect(again).toBe(first);
    expect(readdirSync(first).sort()).toEqual(['local-runtime-state.json', 's3']);
  });
});
