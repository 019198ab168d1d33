import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { type ChaosRuntime, manifestOf, startChaosRuntime, upload } from './harness.js';

/**
 * A branch whose /tmp is full. The runtime gives each function a tmpfs of its
 * template's EphemeralStorage.Size (LOCAL_EPHEMERAL_STORAGE=tmpfs, as Lambda
 * bounds /tmp), the case fills the thumbnail function's, and ffmpeg then meets
 * a real ENOSPC. Mounting needs Linux and root; elsewhere the case is skipped
 * with the reason printed.
 */
const canMount = process.platform === 'linux' && process.getuid?.() === 0;
if (!canMount) {
  console.log('[chaos] storage: skipped: a tmpfs per function needs Linux and root');
}

describe.skipIf(!canMount)('a branch with its ephemeral storage full', () => {
  let env: ChaosRuntime;
  let clip: string;
  let filler: string | undefined;

  beforeAll(async () => {
    env = await startChaosRuntime('storage', undefined, { ephemeralStorage: 'tmpfs' });
    clip = await makeClip({ seconds: 1, width: 160, height: 120, audio: false });
  });
  afterAll(async () => {
    if (filler) rmSync(filler, { force: true });
    await env?.stop();
    cleanupMedia();
  });

  it('fails that branch with EphemeralStorageFullError in the manifest, keeps the others: PARTIAL', async () => {
    // Prepare: fill the thumbnail function's /tmp to the last byte.
    const thumbnail = env.runtime.model.functions.find((f) =>
      f.logicalId.startsWith('ThumbnailBranch')
    );
    if (!thumbnail) throw new Error('no ThumbnailBranch function in the stack');
    const dir = env.runtime.ephemeralStorage.dirOf(thumbnail.name);
    if (!dir) throw new Error(`${thumbnail.name} has no tmpfs`);
    filler = join(dir, 'filler');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(4 * 2 ** 20);
    let written = 0;
    try {
      for (;;) written += writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      closeSync(fd);
    }
    // Act
    const { videoId } = await upload(
      env,
      clip,
      `uploads/chaos/${Date.now().toString(36)}/full-tmp.mp4`
    );
    const manifest = await manifestOf(env, videoId, 240_000);
    // Assess
    const thumbs = manifest.branches.filter((b) => b.kind === 'thumbnail');
    const others = manifest.branches.filter((b) => b.kind !== 'thumbnail');
    console.log(
      `[chaos] ${thumbnail.name}'s /tmp filled with ${(written / 2 ** 20).toFixed(0)} MiB ` +
        `(EphemeralStorage.Size ${thumbnail.ephemeralStorageMiB} MiB); ${manifest.status}: ${manifest.reason}`
    );
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThanOrEqual(thumbnail.ephemeralStorageMiB * 2 ** 20);
    expect(thumbs.length).toBeGreaterThan(0);
    for (const b of thumbs) {
      expect(b.status).toBe('FAILED');
      expect(b.error?.name).toBe('EphemeralStorageFullError');
      expect(b.error?.message).toMatch(/No space left on device/);
    }
    expect(others.length).toBeGreaterThan(0);
    expect(others.every((b) => b.status === 'SUCCEEDED')).toBe(true);
    expect(manifest.status).toBe('PARTIAL');
  });
});
