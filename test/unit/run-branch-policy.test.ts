import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Branch, BranchResult, FanOutPolicy } from '../../contract/index.js';
import { cleanupMedia, makeClip, useMediaTools } from '../../fixtures/media.js';
import { runBranch, sequenceStopReason } from '../../lambdas/run-branch/logic.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { sns } from '../../lambdas/shared/sns.js';
import {
  branchInputFactory,
  branchResultFactory,
  jsonBody,
  probeFactory,
  s3ErrorFactory,
} from '../helpers/factories.js';

const VIDEO_ID = 'clip-0123456789abcdef';
const BUCKET = 'output-bucket';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:video-processed';
const s3Mock = mockClient(s3);
const snsMock = mockClient(sns);

const policy: FanOutPolicy = {
  mode: 'sequential',
  await: 'all',
  maxInFlight: 1,
  kinds: {
    rendition: { role: 'primary' },
    metadata: { role: 'fire-and-forget' },
    'rendition-fallback': { fallbackFor: 'rendition' },
  },
};
const THUMB: Branch = { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 320 };
const MAIN: Branch = { id: 'rendition-720p', kind: 'rendition', height: 720 };
const META: Branch = { id: 'metadata', kind: 'metadata' };
const LAST: Branch = { id: 'thumb-02', kind: 'thumbnail', atSec: 2, width: 320 };
const PLAN = [THUMB, MAIN, META, LAST];

const reader =
  (records: Record<string, BranchResult>) =>
  async (id: string): Promise<BranchResult | undefined> =>
    records[id];
const failedRecord = (b: { id: string; kind: string }) =>
  branchResultFactory(b, {
    status: 'FAILED',
    artifacts: [],
    error: { name: 'MediaToolError', message: 'boom' },
  });

describe('sequenceStopReason (sequential mode)', () => {
  it.each<[string, number, Record<string, BranchResult>, string | null]>([
    ['the first branch always runs', 0, {}, null],
    ['runs after a succeeded branch', 1, { 'thumb-01': branchResultFactory(THUMB) }, null],
    [
      'stops after a failure with no fallback',
      1,
      { 'thumb-01': failedRecord(THUMB) },
      'sequence stopped: thumb-01 failed with no successful fallback',
    ],
    [
      'runs after a failure whose fallback succeeded',
      2,
      {
        'rendition-720p': failedRecord(MAIN),
        'rendition-720p-fallback': branchResultFactory({
          id: 'rendition-720p-fallback',
          kind: 'rendition-fallback',
        }),
      },
      null,
    ],
    [
      'stops after a timed-out branch (no record) whose fallback failed too',
      2,
      {
        'rendition-720p-fallback': failedRecord({
          id: 'rendition-720p-fallback',
          kind: 'rendition-fallback',
        }),
      },
      'sequence stopped: rendition-720p failed with no successful fallback',
    ],
    [
      'looks past a fire-and-forget branch, which never stops the sequence',
      3,
      { 'rendition-720p': branchResultFactory(MAIN), metadata: failedRecord(META) },
      null,
    ],
    [
      'keeps the first reason once the sequence has stopped',
      3,
      {
        'rendition-720p': branchResultFactory(MAIN, {
          status: 'SKIPPED',
          artifacts: [],
          error: {
            name: 'Skipped',
            message: 'sequence stopped: thumb-01 failed with no successful fallback',
          },
        }),
      },
      'sequence stopped: thumb-01 failed with no successful fallback',
    ],
  ])('%s', async (_name, index, records, expected) => {
    // Act
    const reason = await sequenceStopReason({ index, branches: PLAN, policy }, reader(records));
    // Assess
    expect(reason).toBe(expected);
  });

  it('records a skipped branch as SKIPPED without running it', async () => {
    // Prepare
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      if (input.Key === `outputs/${VIDEO_ID}/_work/branches/thumb-01.json`) {
        return { Body: jsonBody(failedRecord(THUMB)) };
      }
      throw s3ErrorFactory('NoSuchKey', 404);
    });
    const input = branchInputFactory(MAIN, { sequence: { index: 1, branches: PLAN, policy } });
    let sourceRequested = false;
    // Act
    const ref = await runBranch(input, {
      outputBucket: BUCKET,
      timeBudget: () => 60_000,
      sourceUrl: async () => {
        sourceRequested = true;
        return '/nonexistent';
      },
    });
    // Assess
    const reason = 'sequence stopped: thumb-01 failed with no successful fallback';
    expect(ref).toEqual({ id: 'rendition-720p', status: 'SKIPPED', error: reason });
    expect(sourceRequested).toBe(false);
    const written = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(written.map((w) => w.Key)).toEqual([
      `outputs/${VIDEO_ID}/_work/branches/rendition-720p.json`,
    ]);
    expect(JSON.parse(String(written[0]?.Body))).toMatchObject({
      status: 'SKIPPED',
      error: { name: 'Skipped', message: reason },
    });
  });
});

describe('VideoPlayable', () => {
  let clip: string;
  beforeAll(async () => {
    useMediaTools();
    clip = await makeClip({ seconds: 1, width: 320, height: 240, audio: false });
  });
  afterAll(() => cleanupMedia());
  /** The output bucket in memory, with S3's conditional writes (If-None-Match, If-Match → 412). */
  let stored: Map<string, { body: string; etag: string; metadata: Record<string, string> }>;
  /** S3 writes and SNS publishes, in the order they happened. */
  let events: string[];
  beforeEach(() => {
    s3Mock.reset();
    snsMock.reset();
    stored = new Map();
    events = [];
    let version = 0;
    s3Mock.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
      const key = input.Key!;
      const now = stored.get(key);
      if (
        (input.IfNoneMatch === '*' && now) ||
        (input.IfMatch !== undefined && now?.etag !== input.IfMatch)
      ) {
        throw s3ErrorFactory('PreconditionFailed', 412);
      }
      const body = Buffer.isBuffer(input.Body) ? input.Body.toString() : String(input.Body ?? '');
      version += 1;
      stored.set(key, { body, etag: `"v${version}"`, metadata: input.Metadata ?? {} });
      events.push(`put ${key}`);
      return {};
    });
    s3Mock.on(GetObjectCommand).callsFake(async ({ Key }: { Key: string }) => {
      const o = stored.get(Key);
      if (!o) throw s3ErrorFactory('NoSuchKey', 404);
      return {
        Body: { transformToString: async () => o.body } as never,
        ETag: o.etag,
        Metadata: o.metadata,
      };
    });
    s3Mock.on(ListObjectsV2Command).callsFake(async ({ Prefix }: { Prefix: string }) => ({
      Contents: [...stored.keys()].filter((k) => k.startsWith(Prefix)).map((Key) => ({ Key })),
      IsTruncated: false,
    }));
    snsMock.on(PublishCommand).callsFake(async (input: { Message?: string }) => {
      events.push(`publish ${JSON.parse(input.Message ?? '{}').branchId}`);
      return { MessageId: 'm-1' };
    });
  });

  const run = (branch: Branch) =>
    runBranch(
      branchInputFactory(branch, { probe: probeFactory({ height: 240, audioCodec: null }) }),
      {
        outputBucket: BUCKET,
        timeBudget: () => 60_000,
        sourceUrl: async () => clip,
        now: () => new Date('2026-11-29T21:00:00Z'),
        playableTopicArn: TOPIC,
      }
    );

  it('is published with type=VideoPlayable (and no status attribute) once the playlist lists the first delivered rendition', async () => {
    // Act
    await run({ id: 'rendition-240p', kind: 'rendition', height: 240 });
    // Assess
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const publish = snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(publish?.MessageAttributes).toEqual({
      type: { DataType: 'String', StringValue: 'VideoPlayable' },
    });
    const message = JSON.parse(publish?.Message ?? '') as { artifacts: { key: string }[] };
    expect(message).toMatchObject({
      videoId: VIDEO_ID,
      branchId: 'rendition-240p',
      playableAt: '2026-11-29T21:00:00.000Z',
    });
    // The MP4 first, then its HLS media playlist's files and what it measured of them.
    expect(message.artifacts[0]).toMatchObject({
      key: `outputs/${VIDEO_ID}/renditions/240p.mp4`,
      contentType: 'video/mp4',
    });
    expect(message.artifacts.map((a) => a.key)).toContain(
      `outputs/${VIDEO_ID}/hls/240p/index.m3u8`
    );
    // The branch record, then the early multivariant playlist listing it, then the claim, then the event.
    expect(events.slice(-5)).toEqual([
      `put outputs/${VIDEO_ID}/_work/branches/rendition-240p.json`,
      `put outputs/${VIDEO_ID}/hls/index.m3u8`,
      `put outputs/${VIDEO_ID}/_work/playable.json`,
      'publish rendition-240p',
      `put outputs/${VIDEO_ID}/_work/playable.json`,
    ]);
    expect(JSON.parse(stored.get(`outputs/${VIDEO_ID}/_work/playable.json`)?.body ?? '')).toEqual({
      branchId: 'rendition-240p',
      playlist: stored.get(`outputs/${VIDEO_ID}/hls/index.m3u8`)?.body,
      publishedAt: '2026-11-29T21:00:00.000Z',
    });
    const playlist = stored.get(`outputs/${VIDEO_ID}/hls/index.m3u8`);
    expect(playlist?.body.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual([
      '240p/index.m3u8',
    ]);
    expect(playlist?.metadata).toEqual({ ladder: 'early' });
  });

  it("is grouped under the input's tenant field, not a tenant read back out of the videoId", async () => {
    // Prepare: a videoId with no tenant prefix (an id from before tenants) and a tenant field.
    const input = branchInputFactory(
      { id: 'rendition-240p', kind: 'rendition', height: 240 },
      { tenant: 'acme', probe: probeFactory({ height: 240, audioCodec: null }) }
    );
    // Act
    await runBranch(input, {
      outputBucket: BUCKET,
      timeBudget: () => 60_000,
      sourceUrl: async () => clip,
      playableTopicArn: TOPIC,
    });
    // Assess
    const publish = snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(publish?.MessageGroupId).toBe('acme');
  });

  it('a failed publish keeps the SUCCEEDED record, and the retry repeats only the publish', async () => {
    // Prepare: SNS is unavailable once (a retryable error for the state machine's Retry).
    const branch: Branch = { id: 'rendition-240p', kind: 'rendition', height: 240 };
    const recordKey = `outputs/${VIDEO_ID}/_work/branches/rendition-240p.json`;
    snsMock
      .on(PublishCommand)
      .rejectsOnce(
        Object.assign(new Error('unavailable'), {
          name: 'InternalError',
          $metadata: { httpStatusCode: 500 },
        })
      )
      .resolves({ MessageId: 'm-2' });
    // Act: the first attempt encodes, stores, and fails to publish.
    const first = await run(branch).catch((err: Error) => err);
    const afterFirst = new Map(stored);
    const keys = events.filter((e) => e.startsWith('put ')).map((e) => e.slice(4));
    const storedRecord = JSON.parse(stored.get(recordKey)?.body ?? '{}') as BranchResult;
    // Act: the retry.
    const retried = await run(branch);
    // Assess
    expect(first).toBeInstanceOf(Error);
    expect((first as Error).name).toBe('TransientServiceError');
    // (the branch's files go up side by side, so the MP4 need not be the first PUT)
    expect(keys).toContain(`outputs/${VIDEO_ID}/renditions/240p.mp4`);
    expect(keys).toContain(`outputs/${VIDEO_ID}/hls/240p/index.m3u8`);
    expect(keys.slice(-3)).toEqual([
      recordKey,
      `outputs/${VIDEO_ID}/hls/index.m3u8`,
      `outputs/${VIDEO_ID}/_work/playable.json`,
    ]);
    expect(storedRecord).toMatchObject({ id: 'rendition-240p', status: 'SUCCEEDED' });
    expect(retried).toEqual({ id: 'rendition-240p', status: 'SUCCEEDED' });
    // The retry re-encodes nothing: it only records the publish on the claim it made.
    const changed = [...stored.keys()].filter((k) => stored.get(k) !== afterFirst.get(k));
    expect(changed).toEqual([`outputs/${VIDEO_ID}/_work/playable.json`]);
    expect(JSON.parse(stored.get(changed[0]!)?.body ?? '')).toMatchObject({
      branchId: 'rendition-240p',
      publishedAt: '2026-11-29T21:00:00.000Z',
    });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 2);
    const republished = snsMock.commandCalls(PublishCommand)[1]?.args[0].input;
    expect(JSON.parse(republished?.Message ?? '')).toMatchObject({
      branchId: 'rendition-240p',
      artifacts: storedRecord.artifacts,
    });
  });

  it('is not published again when the branch runs again after its publish (an early-joined rendition in the FanOut)', async () => {
    // Act: the same delivered branch, run twice.
    await run({ id: 'rendition-240p', kind: 'rendition', height: 240 });
    const second = await run({ id: 'rendition-240p', kind: 'rendition', height: 240 });
    // Assess
    expect(second).toEqual({ id: 'rendition-240p', status: 'SUCCEEDED' });
    expect(events.filter((e) => e.startsWith('publish'))).toEqual(['publish rendition-240p']);
  });

  it('is published once, by the first delivered rendition (a secondary too); the next one grows the playlist', async () => {
    // Act: the lower (secondary) rung is delivered first, then the main one.
    await run({ id: 'rendition-120p', kind: 'rendition', height: 120, role: 'secondary' });
    const early = stored.get(`outputs/${VIDEO_ID}/hls/index.m3u8`)?.body;
    await run({ id: 'rendition-240p', kind: 'rendition', height: 240 });
    const grown = stored.get(`outputs/${VIDEO_ID}/hls/index.m3u8`)?.body;
    // Assess
    const variants = (text?: string) =>
      (text ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(events.filter((e) => e.startsWith('publish'))).toEqual(['publish rendition-120p']);
    expect(variants(early)).toEqual(['120p/index.m3u8']);
    expect(variants(grown)).toEqual(['120p/index.m3u8', '240p/index.m3u8']);
  });

  it('is published by the fallback of the main rendition, under its own keys', async () => {
    // Act
    await run({
      id: 'rendition-240p-fallback',
      kind: 'rendition-fallback',
      origin: { id: 'rendition-240p', kind: 'rendition', height: 240 },
    });
    // Assess
    const publish = snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
    const message = JSON.parse(publish?.Message ?? '') as { artifacts: { key: string }[] };
    expect(message).toMatchObject({ branchId: 'rendition-240p-fallback' });
    expect(message.artifacts[0]?.key).toBe(`outputs/${VIDEO_ID}/renditions/fallback/120p.mp4`);
    expect(message.artifacts.map((a) => a.key)).toContain(
      `outputs/${VIDEO_ID}/hls/fallback/120p/index.m3u8`
    );
  });
});
