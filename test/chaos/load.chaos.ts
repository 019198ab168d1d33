import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { type ChaosRuntime, manifestOf, startChaosRuntime, upload } from './harness.js';

/**
 * Load: 100 uploads at once into an account of 20 concurrent executions. The
 * starter's bound and the throttle Retry must turn the burst into a queue:
 * every video COMPLETE, no branch failed, the account never over its limit.
 */
const VIDEOS = 100;
const ACCOUNT_CONCURRENCY = 20;

describe('100 concurrent uploads with LOCAL_ACCOUNT_CONCURRENCY=20', () => {
  let env: ChaosRuntime;

  beforeAll(async () => {
    // The runtime reads the limit from the environment, as a developer would set it.
    const previous = process.env.LOCAL_ACCOUNT_CONCURRENCY;
    process.env.LOCAL_ACCOUNT_CONCURRENCY = String(ACCOUNT_CONCURRENCY);
    try {
      env = await startChaosRuntime('load');
    } finally {
      if (previous === undefined) delete process.env.LOCAL_ACCOUNT_CONCURRENCY;
      else process.env.LOCAL_ACCOUNT_CONCURRENCY = previous;
    }
  });
  afterAll(async () => {
    await env?.stop();
    cleanupMedia();
  });

  it('queues the burst: every video COMPLETE, no branch failed, within the limits', async () => {
    // Prepare: one tiny clip (160x120, 1 s), uploaded under 100 keys.
    const clip = await makeClip({ seconds: 1, width: 160, height: 120, audio: false });
    const runId = Date.now().toString(36);
    // Act
    const started = performance.now();
    const uploads = await Promise.all(
      Array.from({ length: VIDEOS }, (_, i) => upload(env, clip, `uploads/load/${runId}/v${i}.mp4`))
    );
    const manifests = await Promise.all(uploads.map((u) => manifestOf(env, u.videoId, 900_000)));
    const wallSeconds = (performance.now() - started) / 1000;
    const stats = env.runtime.stats();
    // Assess
    console.log(
      `[load] ${VIDEOS} videos in ${wallSeconds.toFixed(1)} s; peak concurrency ` +
        `${stats.peakConcurrency} of ${stats.accountConcurrency}; throttles absorbed ${stats.throttles}`
    );
    expect(stats.accountConcurrency).toBe(ACCOUNT_CONCURRENCY);
    expect(manifests.map((m) => m.status)).toEqual(Array(VIDEOS).fill('COMPLETE'));
    const failedBranches = manifests
      .flatMap((m) => m.branches)
      .filter((b) => b.status !== 'SUCCEEDED');
    expect(failedBranches).toEqual([]);
    expect(stats.peakConcurrency).toBeLessThanOrEqual(ACCOUNT_CONCURRENCY);
  });
});
