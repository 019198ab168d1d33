/**
 * Issue #18 (5): N concurrent uploads of one long clip (default 20 × 60 s 1080p with audio)
 * through the local runtime, run in its own process so its process tree (the runtime, its
 * Lambda environments and their ffmpeg processes) is measured alone, from /proc, once a second.
 * Reports wall time, when the manifests came, every verdict (with its reason), peak RSS/PSS of
 * the tree and how many Lambda Inits overran their 10 s phase. If the time limit comes first,
 * the figures so far are returned with the missing verdicts counted as `RUNNING`.
 * Targets from the issue: every video COMPLETE, peak tree RSS < 4 GB.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ManifestSchema, manifestKey, videoIdFor } from '../contract/index.js';
import { cleanupMedia, makeClip } from '../fixtures/media.js';
import { ROOT } from '../local-runtime/src/index.js';
import { startRuntimeProcess } from '../local-runtime/test/helpers.js';
import { TreeMemorySampler } from './process-tree.js';

export interface LoadOptions {
  videos: number;
  seconds: number;
  width: number;
  height: number;
  /** Stop waiting after this long and report what finished. */
  timeoutMs: number;
}

export interface LoadResult extends LoadOptions {
  clipMiB: number;
  clipGenerationMs: number;
  /** First upload sent → last manifest written (or the time limit). */
  wallMs: number;
  finished: boolean;
  firstManifestMs: number | null;
  medianManifestMs: number | null;
  lastManifestMs: number | null;
  verdicts: Record<string, number>;
  /** Reasons of every non-COMPLETE verdict, as the manifests give them. */
  reasons: string[];
  peakTreeRssMiB: number;
  peakTreePssMiB: number;
  peakProcesses: number;
  memorySamples: number;
  /** INIT_REPORT lines of Inits that ended in timeout (past 10 s) or error, and of retries. */
  initPhaseTimeouts: number;
  initPhaseErrors: number;
  initRetriesInInvoke: number;
  /** The runtime's counters at the end (GET /_local/stats): peak concurrency, throttles. */
  runtimeStats: unknown;
  /** Every 15 s: seconds since the uploads, tree RSS/PSS (MiB), processes, verdicts so far. */
  timeline: Array<{
    s: number;
    rssMiB: number;
    pssMiB: number;
    processes: number;
    verdicts: number;
  }>;
  cpus: number;
  totalMemMiB: number;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor((s.length - 1) / 2)]);
};

export async function benchLoad(
  o: LoadOptions,
  progress: (line: string) => void = console.log
): Promise<LoadResult> {
  const { cpus, totalmem } = await import('node:os');
  let t = performance.now();
  const clip = await makeClip({ seconds: o.seconds, width: o.width, height: o.height });
  const clipGenerationMs = Math.round(performance.now() - t);
  const body = readFileSync(clip);
  const rt = await startRuntimeProcess(join(ROOT, 'cdk.out'));
  const sampler = new TreeMemorySampler(rt.pid, 1000).start();
  const s3 = new S3Client({
    endpoint: rt.endpoint,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    maxAttempts: 10,
  });
  try {
    const runId = Date.now().toString(36);
    t = performance.now();
    const uploads = await Promise.all(
      Array.from({ length: o.videos }, async (_, i) => {
        const key = `uploads/bench-load/${runId}/v${i}.mp4`;
        const put = await s3.send(
          new PutObjectCommand({ Bucket: rt.outputs.UploadBucketName, Key: key, Body: body })
        );
        return videoIdFor({
          bucket: rt.outputs.UploadBucketName,
          key,
          versionId: put.VersionId,
          etag: put.ETag?.replaceAll('"', ''),
        });
      })
    );
    const done = new Map<string, { status: string; reason: string | null; ms: number }>();
    const deadline = t + o.timeoutMs;
    let lastProgress = 0;
    let lastPoint = -Infinity;
    const timeline: LoadResult['timeline'] = [];
    while (done.size < uploads.length && performance.now() < deadline) {
      for (const videoId of uploads) {
        if (done.has(videoId)) continue;
        try {
          const res = await s3.send(
            new GetObjectCommand({
              Bucket: rt.outputs.OutputBucketName,
              Key: manifestKey(videoId),
            })
          );
          const m = ManifestSchema.parse(JSON.parse(await res.Body!.transformToString()));
          done.set(videoId, { status: m.status, reason: m.reason, ms: performance.now() - t });
        } catch (err) {
          if ((err as Error).name !== 'NoSuchKey') throw err;
        }
      }
      if (performance.now() - lastPoint >= 15_000) {
        lastPoint = performance.now();
        const m = sampler.sample();
        timeline.push({
          s: Math.round((lastPoint - t) / 1000),
          rssMiB: Math.round(m.rssMiB),
          pssMiB: Math.round(m.pssMiB),
          processes: m.pids.length,
          verdicts: done.size,
        });
      }
      if (performance.now() - lastProgress > 30_000) {
        lastProgress = performance.now();
        progress(
          `[load] ${((performance.now() - t) / 1000).toFixed(0)} s: ${done.size}/${o.videos} verdicts, ` +
            `tree peak RSS ${Math.round(sampler.peakRssMiB)} MiB over ≤${sampler.peakProcesses} processes`
        );
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
    const finished = done.size === uploads.length;
    const wallMs = finished
      ? Math.max(...[...done.values()].map((d) => d.ms))
      : performance.now() - t;
    sampler.sample();
    sampler.stop();
    const verdicts: Record<string, number> = {};
    for (const d of done.values()) verdicts[d.status] = (verdicts[d.status] ?? 0) + 1;
    if (!finished) verdicts.RUNNING = uploads.length - done.size;
    const times = [...done.values()].map((d) => d.ms);
    const runtimeStats = await fetch(`${rt.endpoint}/_local/stats`).then(
      (r) => r.json(),
      (err: Error) => ({ error: err.message })
    );
    const log = rt.output();
    const count = (re: RegExp) => log.match(re)?.length ?? 0;
    return {
      ...o,
      clipMiB: Number((body.length / 2 ** 20).toFixed(1)),
      clipGenerationMs,
      wallMs: Math.round(wallMs),
      finished,
      firstManifestMs: times.length ? Math.round(Math.min(...times)) : null,
      medianManifestMs: median(times),
      lastManifestMs: times.length ? Math.round(Math.max(...times)) : null,
      verdicts,
      reasons: [...done.values()]
        .filter((d) => d.status !== 'COMPLETE')
        .map((d) => `${d.status}: ${d.reason}`),
      peakTreeRssMiB: Math.round(sampler.peakRssMiB),
      peakTreePssMiB: Math.round(sampler.peakPssMiB),
      peakProcesses: sampler.peakProcesses,
      memorySamples: sampler.samples,
      initPhaseTimeouts: count(/INIT_REPORT [^\n]* Phase: init Status: timeout/g),
      initPhaseErrors: count(/INIT_REPORT [^\n]* Phase: init Status: error/g),
      initRetriesInInvoke: count(/INIT_REPORT [^\n]* Phase: invoke/g),
      runtimeStats,
      timeline,
      cpus: cpus().length,
      totalMemMiB: Math.round(totalmem() / 2 ** 20),
    };
  } finally {
    sampler.stop();
    s3.destroy();
    await rt.stop();
    cleanupMedia();
  }
}
