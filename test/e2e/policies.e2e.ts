import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Duration } from 'aws-cdk-lib';
import { afterAll, expect, inject, it } from 'vitest';
import { type BranchResult, branchResultKey, STATE_NAMES } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import type { VideoPipelineStackProps } from '../../lib/stacks/video-pipeline-stack.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { useVariantStacks } from './variant-stacks.js';

/**
 * Policies that need a stack of their own: variants of the e2e app built with other stack props
 * (not a test hook in the deployed code), synthesized once as stacks of one app under their own
 * names and brought up on the target by test/e2e/variant-stacks.ts:
 *  - `VideoPipelineNoFallback`: a 1 s rendition timeout and no fallback, so the primary fails;
 *  - `VideoPipelineSequential`: sequential mode with a 1 s rendition timeout, so every rendition
 *    times out and falls back, and a failed branch stops the sequence;
 *  - `VideoPipelineFireAndForget`: `awaitMode: 'none'`, every branch dispatched asynchronously.
 * Three stacks is the fewest the semantics allow: the primary-failure case needs a stack without
 * the fallback, the fallback case one with it, and await none allows neither timeout nor fallback.
 */
const target = inject('e2eTarget');

const VARIANTS = {
  VideoPipelineNoFallback: { renditionTimeout: Duration.seconds(1), renditionFallback: false },
  VideoPipelineSequential: { fanOutMode: 'sequential', renditionTimeout: Duration.seconds(1) },
  VideoPipelineFireAndForget: { awaitMode: 'none' },
} satisfies Record<string, VideoPipelineStackProps>;
type VariantName = keyof typeof VARIANTS;

const elsewhere = ['local', 'localstack'].includes(target.name)
  ? undefined
  : `the policy variant stacks are deployed only to the local runtime and LocalStack, not ${target.name}`;

/** The variant stacks for the whole file, and the few reads the cases need. */
const useVariants = () => {
  const variants = useVariantStacks<VariantName>(target, VARIANTS);
  afterAll(() => cleanupMedia());
  const upload = (
    name: VariantName,
    file: string,
    fileName: string,
    metadata?: Record<string, string>
  ) => variants.upload(name, file, `uploads/e2e-policies/${fileName}`, metadata);
  const readResult = async (name: VariantName, key: string): Promise<BranchResult | undefined> => {
    const body = await variants.readOutput(name, key);
    return body === undefined ? undefined : (JSON.parse(body.toString('utf8')) as BranchResult);
  };
  const headOutput = (name: VariantName, key: string) =>
    variants
      .of(name)
      .s3.send(
        new HeadObjectCommand({ Bucket: variants.of(name).outputs.OutputBucketName, Key: key })
      );
  return {
    upload,
    waitForManifest: variants.waitForManifest,
    history: variants.history,
    headOutput,
    readResult,
  };
};

describeE2E(target, elsewhere)(`fan-out policies on variant stacks (${target.name})`, () => {
  const { upload, waitForManifest, history, headOutput, readResult } = useVariants();

  it('await none: the FanOut ends once every branch is dispatched, before the slowest branch has finished, and the manifest reports the branches SENT', async () => {
    // Prepare: a 20 s 720p clip, whose 720p rendition takes seconds to encode.
    const clip = await makeClip({ seconds: 20, width: 1280, height: 720 });
    // Act
    const videoId = await upload('VideoPipelineFireAndForget', clip, 'fire-and-forget.mp4');
    const manifest = await waitForManifest('VideoPipelineFireAndForget', videoId);
    // The outcome still arrives afterwards, in the branch's own record (polled, not awaited by the Map).
    const recordKey = branchResultKey(videoId, 'rendition-720p');
    const record = await poll(
      `the late record ${recordKey}`,
      () => readResult('VideoPipelineFireAndForget', recordKey),
      240_000,
      { intervalMs: 1000 }
    );
    const manifestAfter = await waitForManifest('VideoPipelineFireAndForget', videoId);
    const fanOutExited = (await history('VideoPipelineFireAndForget', videoId)).find(
      (e) => e.type === 'MapStateExited' && e.stateExitedEventDetails?.name === STATE_NAMES.fanOut
    );
    // Assess
    expect(manifest.policy).toEqual({ mode: 'parallel', await: 'none' });
    expect(manifest.status).toBe('COMPLETE');
    expect(new Set(manifest.branches.map((b) => [b.role, b.status].join(' ')))).toEqual(
      new Set(['fire-and-forget SENT'])
    );
    expect(manifest.fanOut).toMatchObject({ succeeded: 0, failed: 0, skipped: 0 });
    expect(record).toMatchObject({ id: 'rendition-720p', status: 'SUCCEEDED' });
    // The Map did not wait: it ended before the rendition finished. (Not the manifest's time: on a
    // loaded 2-core CI machine, LocalStack's aggregator once wrote the manifest 231 ms after a 10 s
    // clip's encode had ended; the Map's own exit is what await none is about.)
    expect(fanOutExited?.timestamp).toBeInstanceOf(Date);
    expect(Date.parse(record.finishedAt!)).toBeGreaterThan(fanOutExited!.timestamp!.getTime());
    // …and its late outcome did not rewrite the manifest.
    expect(manifestAfter).toEqual(manifest);
  }, 300_000);

  it('a primary rendition past its timeout, with no fallback, makes the video FAILED, with the secondaries reported', async () => {
    // Prepare: a 720p clip long enough that the rendition cannot encode within 1 s.
    const clip = await makeClip({ seconds: 10, width: 1280, height: 720 });
    // Act
    const videoId = await upload('VideoPipelineNoFallback', clip, 'primary-fails.mp4');
    const manifest = await waitForManifest('VideoPipelineNoFallback', videoId);
    // Assess
    expect(manifest.policy).toEqual({ mode: 'parallel', await: 'primary' });
    expect(manifest.status).toBe('FAILED');
    expect(manifest.reason).toMatch(/^primary failed: rendition-720p \(States\.Timeout: /);
    const byId = Object.fromEntries(manifest.branches.map((b) => [b.id, b]));
    expect(byId['rendition-720p']).toMatchObject({ role: 'primary', status: 'TIMED_OUT' });
    expect(byId['rendition-720p-fallback']).toBeUndefined();
    const thumb = byId['thumb-01'];
    expect({ role: thumb?.role, status: thumb?.status, error: thumb?.error }).toEqual({
      role: 'secondary',
      status: 'SUCCEEDED',
      error: null,
    });
  }, 300_000);

  it('sequential mode: a rendition past its timeout is TIMED_OUT and its fallback stands in', async () => {
    // Prepare: a 720p clip long enough that no rendition encodes within 1 s.
    const clip = await makeClip({ seconds: 10, width: 1280, height: 720 });
    // Act
    const videoId = await upload('VideoPipelineSequential', clip, 'timeout.mp4');
    const manifest = await waitForManifest('VideoPipelineSequential', videoId);
    // Assess
    expect(manifest.policy).toEqual({ mode: 'sequential', await: 'primary' });
    expect(manifest.status).toBe('COMPLETE');
    const byId = Object.fromEntries(manifest.branches.map((b) => [b.id, b]));
    expect(byId['rendition-720p']).toMatchObject({
      role: 'primary',
      status: 'TIMED_OUT',
      artifacts: [],
      error: { name: 'States.Timeout' },
    });
    expect(byId['rendition-720p-fallback']).toMatchObject({
      kind: 'rendition-fallback',
      role: 'primary',
      fallbackFor: 'rendition-720p',
      status: 'SUCCEEDED',
    });
    const fallbackKey = `outputs/${videoId}/renditions/fallback/360p.mp4`;
    // The MP4, then the fallback's own HLS media playlist (hls.md), under its own keys.
    const fallbackKeys = byId['rendition-720p-fallback']?.artifacts.map((a) => a.key) ?? [];
    expect(fallbackKeys[0]).toBe(fallbackKey);
    expect(fallbackKeys).toContain(`outputs/${videoId}/hls/fallback/360p/index.m3u8`);
    // Its HLS measurement record is stored for the aggregator but is not a published artifact.
    expect(fallbackKeys.filter((k) => !k.includes('/hls/fallback/'))).toEqual([fallbackKey]);
    const head = await headOutput('VideoPipelineSequential', fallbackKey);
    expect(head.ContentLength).toBeGreaterThan(0);
    expect(manifest.fanOut.timedOut).toBeGreaterThanOrEqual(1);
    expect(manifest.fanOut.fellBack).toBe(manifest.fanOut.timedOut);
    expect(manifest.fanOut.skipped).toBe(0);
    // One at a time, in plan order: the recorded finish times never go backwards.
    const finished = manifest.branches
      .map((b) => b.finishedAt)
      .filter((t): t is string => t !== null)
      .map((t) => Date.parse(t));
    expect(finished).toEqual([...finished].sort((a, b) => a - b));
  }, 300_000);

  it('sequential mode: a failed thumbnail stops the sequence, the primary is SKIPPED, and the video is FAILED', async () => {
    // Prepare: a thumbnail requested past the end of the clip cannot succeed; thumbnails run first.
    const clip = await makeClip({ seconds: 3, width: 320, height: 240 });
    // Act
    const videoId = await upload('VideoPipelineSequential', clip, 'stop.mp4', {
      'thumbnail-times': '30',
    });
    const manifest = await waitForManifest('VideoPipelineSequential', videoId);
    // Assess
    expect(manifest.status).toBe('FAILED');
    expect(manifest.reason).toMatch(
      /^primary failed: rendition-240p \(Skipped: sequence stopped: thumb-at-30s failed/
    );
    expect(manifest.branches.map((b) => [b.id, b.status])).toEqual([
      ['thumb-01', 'SUCCEEDED'],
      ['thumb-02', 'SUCCEEDED'],
      ['thumb-03', 'SUCCEEDED'],
      ['thumb-at-30s', 'FAILED'],
      ['rendition-240p', 'SKIPPED'],
      ['metadata', 'SKIPPED'],
    ]);
    expect(manifest.fanOut).toEqual({
      sent: 4,
      succeeded: 3,
      failed: 1,
      timedOut: 0,
      fellBack: 0,
      skipped: 2,
    });
  }, 300_000);
});
