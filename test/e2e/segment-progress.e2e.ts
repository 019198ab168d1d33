import { SFNClient } from '@aws-sdk/client-sfn';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Progress } from '../../cli/src/branch-rows.js';
import { liveEntries } from '../../cli/src/live-screen.js';
import type { StepState } from '../../cli/src/segment-progress.js';
import { watchVideo } from '../../cli/src/watch.js';
import { cleanupMedia, makeClip, useMediaTools } from '../../fixtures/media.js';
import { describeE2E } from './guard.js';
import { credentials, useVariantStacks } from './variant-stacks.js';

/**
 * What `npm run status -- <videoId> --watch` shows while a long video's
 * segments encode, end to end: the CLI's own watch loop against a variant of
 * the e2e app with a lowered segment threshold and two segments at a time, so
 * a 32 s clip's eight 4 s segments (plus eight audio parts) queue behind two
 * workers. Every poll must account for every segment (done + running + queued
 * + failed = planned), the counts must come from the Map Run (running seen)
 * and the files (done rising to all), and the live view must say so in words.
 */
const target = inject('e2eTarget');
const STACK = 'VideoPipelineSegmentProgress';
const RENDITION = 'rendition-240p';
const SEGMENTS = 8;

describeE2E(target)(
  'segment progress in `status --watch` (variant stack, 2 segments at a time)',
  () => {
    // Registered before the variant's hooks: the tools are on PATH before it synthesizes.
    beforeAll(() => {
      useMediaTools();
    });
    const variants = useVariantStacks(target, {
      [STACK]: {
        segmentThreshold: Duration.seconds(8),
        segmentLength: Duration.seconds(4),
        segmentConcurrency: 2,
        renditionHeights: [240],
      },
    });
    let sfn: SFNClient | undefined;

    afterAll(() => {
      sfn?.destroy();
      cleanupMedia();
    });

    it('shows per poll the segments done, running and queued, the audio parts and the join, until the manifest', async () => {
      // Prepare: 32 s at 25 fps = 800 frames = 8 segments of 100 frames, plus 8 audio parts
      // of 189 AAC frames (4.032 s; the tail of 3.8 s is over half a part)
      const clip = await makeClip({ seconds: 32, width: 640, height: 360, audio: true });
      const v = variants.of(STACK);
      sfn = new SFNClient({ endpoint: v.endpoint, region: v.region, credentials });
      const watchTarget = {
        s3: v.s3,
        sfn,
        outputBucket: v.outputs.OutputBucketName!,
        stateMachineArn: v.outputs.StateMachineArn!,
      };
      const videoId = await variants.upload(STACK, clip, 'uploads/e2e-progress/long.mp4');
      const seen: Progress[] = [];

      // Act: the watch loop `status --watch` runs, recording every snapshot it draws
      const outcome = await watchVideo(watchTarget, videoId, {
        timeoutMs: 240_000,
        intervalMs: 200,
        onProgress: (p) => seen.push(p),
      });

      // Assess
      expect(outcome.kind).toBe('manifest');
      expect(outcome.kind === 'manifest' && outcome.progress.manifest.status).toBe('COMPLETE');
      const staged = seen.flatMap((p) => {
        const s = p.segments?.get(RENDITION);
        return s ? [{ p, s }] : [];
      });
      expect(staged.length, 'polls that saw the segment stage').toBeGreaterThan(0);
      // A target that cannot list a Map Run's children leaves running/queued out (segment-progress.ts).
      const childrenListed = staged.every(({ s }) => s.queued !== undefined);
      if (!childrenListed) {
        console.log(
          `[e2e] ${target.name}: ListExecutions by Map Run unavailable; per-rendition running/queued ` +
            "fall back to the files and DescribeMapRun's counts"
        );
      }
      for (const { s } of staged) {
        expect(s.total).toBe(SEGMENTS);
        if (!childrenListed) continue;
        expect(s.done + (s.running ?? 0) + (s.queued ?? 0) + (s.failed ?? 0)).toBe(SEGMENTS);
        // Never more at once than the Map's MaxConcurrency.
        expect(s.running ?? 0).toBeLessThanOrEqual(2);
      }
      if (childrenListed) {
        // From the Map Run's children: one poll saw a segment running, one saw some queued.
        expect(staged.some(({ s }) => (s.running ?? 0) > 0)).toBe(true);
        expect(staged.some(({ s }) => (s.queued ?? 0) > 0)).toBe(true);
      }
      // From DescribeMapRun: the Map Run's items, with something running at some poll.
      const items = staged.flatMap(({ p }) => (p.segmentItems ? [p.segmentItems] : []));
      expect(items.length).toBeGreaterThan(0);
      expect(items.some((i) => i.running > 0)).toBe(true);
      // From the files: done never goes back, and ends at every segment.
      const done = staged.map(({ s }) => s.done);
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(done.at(-1)).toBe(SEGMENTS);
      expect(staged.some(({ s }) => s.failed)).toBe(false);
      // The join is waited for, then runs or is done; its states never go backwards.
      const order: StepState[] = ['waiting', 'queued', 'running', 'done'];
      const joins = staged.map(({ s }) => order.indexOf(s.join ?? 'failed'));
      expect(joins).not.toContain(-1);
      expect(joins).toEqual([...joins].sort((a, b) => a - b));
      expect(joins[0]).toBe(0);
      // The audio (8 parts, then their join) is reported, and ends done.
      const audio = staged.flatMap(({ p }) => (p.audio ? [p.audio] : []));
      expect(audio.length).toBeGreaterThan(0);
      expect(audio).not.toContain('failed');
      // In words, as the live view prints it: a poll with a segment running says so.
      const running = childrenListed
        ? staged.find(({ s }) => (s.running ?? 0) > 0)!
        : staged.find(({ p }) => (p.segmentItems?.running ?? 0) > 0)!;
      const lines = liveEntries(running.p, 200).map((e) => e.text);
      expect(lines.find((l) => l.includes('240p:'))).toMatch(
        childrenListed
          ? /240p: \d\/8 segments done, \d running(, \d queued)? · join (waiting|queued)/
          : /240p: \d\/8 segments done · join (waiting|queued)/
      );
      expect(lines.find((l) => l.startsWith('segments map run:'))).toMatch(
        /^segments map run: \d+\/16 items done, \d+ running, \d+ pending/
      );
      expect(lines).toContain(`audio ${running.p.audioParts?.done}/8 parts · ${running.p.audio}`);
    }, 300_000);
  }
);
