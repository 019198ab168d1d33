/**
 * (d) Bytes read from S3 for one thumbnail of a large source, before and after
 * the one-way data flow. Before: the branch downloaded the whole object, then
 * ran ffmpeg on the local copy. After: ffmpeg reads a (presigned) URL and
 * fetches byte ranges. Both go through the same HTTP server
 * (fixtures/range-server.ts), which counts the bytes it sends; a connection
 * ffmpeg drops after a seek may leave up to one socket buffer counted but
 * unread, so the "after" figure is an upper bound.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startRangeServer } from '../fixtures/range-server.js';
import { thumbnail } from '../lambdas/branch-kinds/index.js';
import { probeFile } from '../lambdas/probe/logic.js';

/**
 * A ≥ `minMiB` MP4 without encoding it: a short high-bitrate 1080p clip,
 * stream-copied in a loop (moov at the end, as cameras write it).
 */
const makeLargeSource = (dir: string, minMiB: number): string => {
  const seed = join(dir, 'seed.mp4');
  execFileSync('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1920x1080:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '4',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-b:v',
    '40M',
    '-g',
    '60',
    '-c:a',
    'aac',
    seed,
  ]);
  const loops = Math.ceil((minMiB * 2 ** 20) / statSync(seed).size);
  const big = join(dir, 'large.mp4');
  execFileSync('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-stream_loop',
    String(loops - 1),
    '-i',
    seed,
    '-c',
    'copy',
    big,
  ]);
  return big;
};

export const benchRangeReads = async (minMiB = 500) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-range-'));
  const server = await startRangeServer();
  try {
    const source = makeLargeSource(dir, minMiB);
    const size = statSync(source).size;
    const probe = await probeFile(source);
    const branch = {
      id: 'thumb-02',
      kind: 'thumbnail' as const,
      atSec: probe.durationSec / 2,
      width: 320,
    };
    const ctx = (input: string, workDir: string) => ({
      videoId: 'bench',
      source: { bucket: 'bench', key: 'uploads/large.mp4' },
      probe,
      input,
      workDir,
      timeBudget: () => 600_000,
    });

    // Before: the whole object to disk, then ffmpeg on the copy.
    server.resetStats();
    let t = performance.now();
    const copy = join(dir, 'download.mp4');
    const res = await fetch(server.urlFor(source));
    await pipeline(Readable.fromWeb(res.body as never), createWriteStream(copy));
    await thumbnail.run(branch, ctx(copy, dir));
    const before = {
      bytes: server.stats.bytes,
      requests: server.stats.requests,
      ms: performance.now() - t,
    };
    rmSync(copy);

    // After: ffmpeg on the URL, seeking with range requests.
    server.resetStats();
    t = performance.now();
    await thumbnail.run(branch, ctx(server.urlFor(source), dir));
    const after = {
      bytes: server.stats.bytes,
      requests: server.stats.requests,
      ms: performance.now() - t,
    };

    return {
      sourceMiB: Number((size / 2 ** 20).toFixed(1)),
      thumbnailAtSec: Number(branch.atSec.toFixed(1)),
      before: { ...before, ms: Math.round(before.ms) },
      after: { ...after, ms: Math.round(after.ms) },
      bytesRatio: Number((before.bytes / Math.max(1, after.bytes)).toFixed(1)),
      timeRatio: Number((before.ms / Math.max(1, after.ms)).toFixed(2)),
    };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
