import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  artifactKey,
  type BranchResult,
  branchResultKey,
  type Manifest,
  STATE_NAMES,
} from '../../contract/index.js';
import { cleanupMedia, makeClip, useMediaTools } from '../../fixtures/media.js';
import { mediaSegments } from '../../lambdas/shared/hls-playlist.js';
import { runTool } from '../../lambdas/shared/media.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { clientsFor } from './target.js';
import { useVariantStacks } from './variant-stacks.js';

/**
 * The HLS ladder end to end, on a variant of the e2e app with a lowered
 * segment threshold (stack props): a 12 s clip is segmented (2 s segments, the
 * audio item), a 5 s clip is not, and both get two renditions (180p, 360p).
 * The ladder is downloaded as a player would fetch it (multivariant → media
 * playlists → init sections and segments) and ffprobe reads the local copy:
 * the source's duration within one frame with every variant, every frame,
 * audio and video starting together; the progressive MP4s are frame-exact
 * with A/V durations within one AAC frame. VideoPlayable arrives before
 * VideoProcessed, and the playlist it was announced on (recorded in
 * `_work/playable.json`, since the playlist grows afterwards) plays.
 */
const target = inject('e2eTarget');
const STACK = 'VideoPipelineHls';
const FPS = 25;
const SAMPLE_RATE = 44_100;
/** One AAC frame: 1024 samples. */
const AAC_FRAME_SEC = 1024 / SAMPLE_RATE;

interface StreamFacts {
  codec_type: string;
  height?: number;
  start_time?: string;
  duration?: string;
  nb_read_frames?: string;
}

const probe = async (
  file: string,
  entries: string,
  count = false
): Promise<{
  programs?: { streams: StreamFacts[] }[];
  streams: StreamFacts[];
  format: { duration: string };
}> => {
  const res = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      ...(count ? ['-count_frames'] : []),
      '-show_entries',
      entries,
      '-of',
      'json',
      file,
    ],
    { timeoutMs: 120_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
};

describeE2E(target)('HLS ladder (variant stack, lowered segment threshold)', () => {
  let dir: string;
  beforeAll(() => {
    useMediaTools();
    dir = mkdtempSync(join(tmpdir(), 'e2e-hls-'));
  });
  const variants = useVariantStacks(target, {
    [STACK]: {
      segmentThreshold: Duration.seconds(8),
      segmentLength: Duration.seconds(2),
      renditionHeights: [180, 360],
      // One item at a time, in the items file's order (audio parts, 180p, 360p): the 180p rendition is
      // complete while the 360p segments are still to run, so its early join is observable.
      segmentConcurrency: 1,
    },
  });

  afterAll(() => {
    cleanupMedia();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = async (key: string): Promise<Buffer> => {
    const body = await variants.readOutput(STACK, key);
    if (!body) throw new Error(`${key} is missing from ${STACK}'s output bucket`);
    return body;
  };

  /** Fetches a playlist's tree as a player would; returns the local multivariant path. */
  const download = async (manifest: Manifest, into: string): Promise<string> => {
    const hls = manifest.hls!;
    const base = posix.dirname(hls.multivariantPlaylist);
    const save = async (key: string): Promise<Buffer> => {
      const body = await get(key);
      const local = join(into, posix.relative(base, key));
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, body);
      return body;
    };
    const top = (await save(hls.multivariantPlaylist)).toString('utf8');
    const media = [
      ...[...top.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!),
      ...top.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')),
    ];
    for (const uri of media) {
      const key = posix.join(base, uri);
      const text = (await save(key)).toString('utf8');
      const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
      const parts = [...(init ? [init] : []), ...mediaSegments(text).map((s) => s.uri)];
      for (const part of parts) await save(posix.join(posix.dirname(key), part));
    }
    return join(into, posix.basename(hls.multivariantPlaylist));
  };

  const assessLadder = async (manifest: Manifest, seconds: number, name: string) => {
    const frames = seconds * FPS;
    // The ladder the manifest lists: both renditions, one audio playlist.
    expect(manifest.status).toBe('COMPLETE');
    expect(manifest.hls).not.toBeNull();
    const hls = manifest.hls!;
    expect(hls.multivariantPlaylist).toBe(artifactKey(manifest.videoId, 'hls/index.m3u8'));
    expect(hls.audioPlaylist).toBe(artifactKey(manifest.videoId, 'hls/audio/index.m3u8'));
    expect(hls.variants.map((v) => [v.branchId, v.resolution])).toEqual([
      ['rendition-180p', '320x180'],
      ['rendition-360p', '640x360'],
    ]);
    for (const v of hls.variants) {
      expect(v.codecs).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
      expect(v.bandwidth).toBeGreaterThan(0);
    }

    // The player's view: ffprobe on the downloaded multivariant playlist.
    const local = await download(manifest, join(dir, name));
    const top = await probe(
      local,
      'format=duration:program_stream=codec_type,height,start_time:stream=codec_type'
    );
    expect(Math.abs(Number(top.format.duration) - seconds)).toBeLessThanOrEqual(1 / FPS);
    const programs = top.programs ?? [];
    expect(programs).toHaveLength(2);
    expect(
      programs.map((p) => p.streams.find((s) => s.codec_type === 'video')?.height).sort()
    ).toEqual([180, 360]);
    for (const program of programs) {
      const video = program.streams.find((s) => s.codec_type === 'video');
      const audio = program.streams.find((s) => s.codec_type === 'audio');
      expect(audio, 'every variant plays with the audio group').toBeDefined();
      // Audio and video start together (no B-frame delay, no offset between the playlists).
      expect(Math.abs(Number(video!.start_time) - Number(audio!.start_time))).toBeLessThanOrEqual(
        AAC_FRAME_SEC
      );
    }

    // Every variant on its own: the source's duration within a frame and every frame.
    const durations: Record<string, number> = {};
    const localOf = (key: string) =>
      join(dir, name, posix.relative(posix.dirname(hls.multivariantPlaylist), key));
    for (const v of hls.variants) {
      const m = await probe(localOf(v.playlist), 'format=duration:stream=nb_read_frames', true);
      durations[v.branchId] = Number(m.format.duration);
      expect(Math.abs(Number(m.format.duration) - seconds)).toBeLessThanOrEqual(1 / FPS);
      expect(Number(m.streams[0]?.nb_read_frames)).toBe(frames);
    }
    // The audio playlist: the same duration plus the AAC encoder's priming (1024 samples,
    // which fMP4 segments without an edit list keep), within one AAC frame.
    const audio = await probe(localOf(hls.audioPlaylist!), 'format=duration');
    const audioSec = Number(audio.format.duration);
    expect(Math.abs(audioSec - AAC_FRAME_SEC - seconds)).toBeLessThanOrEqual(AAC_FRAME_SEC);
    return { durations, audioSec };
  };

  const assessMp4 = async (manifest: Manifest, height: number, frames: number) => {
    const file = join(dir, `${manifest.videoId}-${height}p.mp4`);
    writeFileSync(file, await get(artifactKey(manifest.videoId, `renditions/${height}p.mp4`)));
    const facts = await probe(file, 'stream=codec_type,duration,nb_read_frames', true);
    const video = facts.streams.find((s) => s.codec_type === 'video')!;
    const audio = facts.streams.find((s) => s.codec_type === 'audio')!;
    expect(Number(video.nb_read_frames)).toBe(frames);
    expect(Math.abs(Number(video.duration) - frames / FPS)).toBeLessThanOrEqual(1 / FPS);
    expect(Math.abs(Number(audio.duration) - Number(video.duration))).toBeLessThanOrEqual(
      AAC_FRAME_SEC
    );
    return { videoSec: Number(video.duration), audioSec: Number(audio.duration) };
  };

  /** The video's execution history on the variant (the execution has ended: the manifest is in). */
  const historyOf = (videoId: string) => variants.history(STACK, videoId);

  interface Received {
    body: Record<string, unknown>;
    sentAt: number;
  }

  /**
   * A queue subscribed, unfiltered, to the variant's VideoProcessed topic (before the upload,
   * so no event is missed); `events(videoId)` polls until VideoPlayable and VideoProcessed are in.
   */
  const subscribe = async (name: string) => {
    const v = variants.of(STACK);
    const { sns, sqs } = clientsFor({ ...target, endpoint: v.endpoint });
    const topicArn = v.outputs.ProcessedTopicArn!;
    const queueUrl = (
      await sqs.send(new CreateQueueCommand({ QueueName: `e2e-hls-${name}-${Date.now()}` }))
    ).QueueUrl!;
    const queueArn = (
      await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })
      )
    ).Attributes!.QueueArn!;
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: {
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'sns.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: queueArn,
                Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
              },
            ],
          }),
        },
      })
    );
    const sub = await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queueArn,
        Attributes: { RawMessageDelivery: 'true' },
      })
    );
    const events = async (videoId: string) => {
      const seen = new Map<string, Received>();
      await poll(
        `VideoPlayable and VideoProcessed for ${videoId}`,
        async () => {
          const res = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 1,
              MessageAttributeNames: ['All'],
              MessageSystemAttributeNames: ['SentTimestamp'],
            })
          );
          for (const m of res.Messages ?? []) {
            const body = JSON.parse(m.Body ?? '{}');
            const type = m.MessageAttributes?.type?.StringValue;
            if (body.videoId === videoId && type && !seen.has(type)) {
              seen.set(type, { body, sentAt: Number(m.Attributes?.SentTimestamp) });
            }
          }
          return seen.size === 2 ? true : undefined;
        },
        60_000
      );
      return { playable: seen.get('VideoPlayable')!, processed: seen.get('VideoProcessed')! };
    };
    const close = async () => {
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: sub.SubscriptionArn }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
      sns.destroy();
      sqs.destroy();
    };
    return { events, close };
  };

  /**
   * VideoPlayable before VideoProcessed, and the playlist it was announced on plays: ffprobe
   * reads it (next to the downloaded final tree, whose media playlists it refers to) at the
   * source's duration within a frame, every variant with the audio group.
   */
  const assessPlayableEarly = async (
    manifest: Manifest,
    seconds: number,
    name: string,
    events: { playable: Received; processed: Received },
    uploadedAt: number
  ) => {
    const { playable, processed } = events;
    expect(playable.sentAt).toBeLessThanOrEqual(processed.sentAt);
    const playableAt = Date.parse(String(playable.body.playableAt));
    const manifestAt = Date.parse(manifest.createdAt);
    expect(playableAt).toBeLessThanOrEqual(manifestAt);
    const claim = JSON.parse(
      (await get(artifactKey(manifest.videoId, '_work/playable.json'))).toString('utf8')
    ) as { branchId: string; playlist: string };
    expect(claim.branchId).toBe(playable.body.branchId);
    const listed = claim.playlist.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const final = manifest.hls!.variants.map((v) =>
      posix.relative(posix.dirname(manifest.hls!.multivariantPlaylist), v.playlist)
    );
    expect(listed.length).toBeGreaterThanOrEqual(1);
    expect(final).toEqual(expect.arrayContaining(listed));
    const early = join(dir, name, 'early.m3u8');
    writeFileSync(early, claim.playlist);
    const top = await probe(early, 'format=duration:program_stream=codec_type');
    expect(Math.abs(Number(top.format.duration) - seconds)).toBeLessThanOrEqual(1 / FPS);
    expect(top.programs ?? []).toHaveLength(listed.length);
    for (const program of top.programs ?? []) {
      expect(program.streams.map((st) => st.codec_type).sort()).toEqual(['audio', 'video']);
    }
    // Reported, not asserted (no timing assertions): how early the video became playable.
    const ratio = (playableAt - uploadedAt) / (manifestAt - uploadedAt);
    return { listed, ratio: Math.round(ratio * 1000) / 1000 };
  };

  it('a segmented 12 s source: its encoded segments are the media segments, the audio in parts, copy joins', async () => {
    // Prepare: 12 s at 25 fps with audio, above the 8 s threshold → 6 segments of 2 s per rendition
    const clip = await makeClip({ seconds: 12, width: 640, height: 360, audio: true });
    const processed = await subscribe('segmented');
    try {
      const uploadedAt = Date.now();
      const videoId = await variants.upload(STACK, clip, 'uploads/e2e-hls/segmented.mp4');

      // Act
      const manifest = await variants.waitForManifest(STACK, videoId);
      const events = await processed.events(videoId);

      // Assess
      expect(manifest.branches.find((b) => b.id === 'rendition-360p')?.segmentation).toEqual({
        count: 6,
        lengthSec: 2,
      });
      const ladder = await assessLadder(manifest, 12, 'segmented');
      // One media segment per encoded segment, 2 s each.
      for (const height of [180, 360]) {
        const text = (await get(artifactKey(videoId, `hls/${height}p/index.m3u8`))).toString();
        expect(mediaSegments(text).map((s) => s.durationSec)).toEqual([2, 2, 2, 2, 2, 2]);
      }
      const mp4s = [await assessMp4(manifest, 180, 300), await assessMp4(manifest, 360, 300)];
      const early = await assessPlayableEarly(manifest, 12, 'segmented', events, uploadedAt);
      // The early join: 180p was joined as soon as its own segments (and the audio) existed,
      // by its last segment item, while the 360p segments were still to be encoded.
      const record = async (id: string) =>
        JSON.parse((await get(branchResultKey(videoId, id))).toString()) as BranchResult;
      const lastSegmentEnd = async (rendition: string) =>
        Math.max(
          ...(await Promise.all(
            [0, 1, 2, 3, 4, 5].map(async (i) =>
              Date.parse((await record(`${rendition}-s000${i}`)).finishedAt ?? '')
            )
          ))
        );
      const joins = await Promise.all(
        ['rendition-180p', 'rendition-360p'].map(async (id) => {
          const r = await record(id);
          const end = Date.parse(r.finishedAt ?? '');
          return { id, start: end - (r.durationMs ?? 0), end };
        })
      );
      const [join180, join360] = joins as [(typeof joins)[0], (typeof joins)[0]];
      const last180 = await lastSegmentEnd('rendition-180p');
      const last360 = await lastSegmentEnd('rendition-360p');
      expect(join180.start).toBeGreaterThanOrEqual(last180);
      expect(join360.start).toBeGreaterThanOrEqual(last360);
      expect(join180.end).toBeLessThan(last360);
      // The audio in 6 parts of 96 AAC frames (2.048 s; 12 s leaves a tail of 1.71 s, over half
      // a part), items before the segments: the last part joined them (the audio record, written
      // after its own) before the first 180p segment ran, and the joins muxed that track.
      const parts = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => record(`audio-p000${i}`)));
      const audio = await record('audio');
      const audioEnd = Date.parse(audio.finishedAt ?? '');
      expect(parts.map((p) => p.status)).toEqual(Array(6).fill('SUCCEEDED'));
      expect(audio.status).toBe('SUCCEEDED');
      expect(audioEnd).toBeGreaterThanOrEqual(
        Math.max(...parts.map((p) => Date.parse(p.finishedAt ?? '')))
      );
      expect(audioEnd).toBeLessThanOrEqual(
        Date.parse((await record('rendition-180p-s0000')).finishedAt ?? '')
      );
      // One wave: the thumbnails ran beside the segments and were done while the Segments map
      // was still encoding (execution history timestamps, the parent execution's own events).
      const history = await historyOf(videoId);
      const at = (e: HistoryEvent | undefined) => e?.timestamp?.getTime() ?? Number.NaN;
      const segmentsEntered = at(
        history.find((e) => e.stateEnteredEventDetails?.name === STATE_NAMES.segments)
      );
      const segmentsExited = at(
        history.find((e) => e.stateExitedEventDetails?.name === STATE_NAMES.segments)
      );
      const thumbnailsExited = history
        .filter((e) => e.stateExitedEventDetails?.name === STATE_NAMES.runBranch('thumbnail'))
        .map(at);
      const thumbnails = manifest.branches.filter((b) => b.kind === 'thumbnail');
      expect(thumbnails.length).toBeGreaterThan(0);
      expect(thumbnails.every((b) => b.status === 'SUCCEEDED')).toBe(true);
      expect(thumbnailsExited).toHaveLength(thumbnails.length);
      const thumbnailsDone = Math.max(...thumbnailsExited);
      expect(thumbnailsDone).toBeGreaterThan(segmentsEntered);
      expect(thumbnailsDone).toBeLessThan(segmentsExited);
      console.log(
        `[hls] segmented 12 s: ${JSON.stringify({ ladder, mp4s, early, joins, last180, last360, thumbnailsDoneBeforeSegmentsMs: segmentsExited - thumbnailsDone, hls: manifest.hls })}`
      );
    } finally {
      await processed.close();
    }
  }, 420_000);

  it('an unsegmented 5 s source: its renditions packaged by stream copy, the main one giving the audio', async () => {
    // Prepare: below the 8 s threshold → single-run renditions
    const clip = await makeClip({ seconds: 5, width: 640, height: 360, audio: true });
    const processed = await subscribe('unsegmented');
    try {
      const uploadedAt = Date.now();
      const videoId = await variants.upload(STACK, clip, 'uploads/e2e-hls/short.mp4');

      // Act
      const manifest = await variants.waitForManifest(STACK, videoId);
      const events = await processed.events(videoId);

      // Assess
      expect(manifest.branches.some((b) => b.segmentation)).toBe(false);
      const ladder = await assessLadder(manifest, 5, 'unsegmented');
      const mp4s = [await assessMp4(manifest, 180, 125), await assessMp4(manifest, 360, 125)];
      const early = await assessPlayableEarly(manifest, 5, 'unsegmented', events, uploadedAt);
      console.log(
        `[hls] unsegmented 5 s: ${JSON.stringify({ ladder, mp4s, early, hls: manifest.hls })}`
      );
    } finally {
      await processed.close();
    }
  }, 420_000);
});
