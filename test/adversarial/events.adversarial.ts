import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  currentPointerKey,
  type Manifest,
  ManifestSchema,
  METRIC_NAMES,
  manifestKey,
  type SourceObject,
  videoIdFor,
} from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import {
  type ChaosRuntime,
  manifestOf,
  pointerOf,
  poll,
  startChaosRuntime,
  upload,
} from '../chaos/harness.js';

/**
 * Adversarial upload events against the real stack on the local runtime
 * (issue #17). Each case names the attack, the outcome the pipeline must
 * reach, and proves that nothing was started or written where it must not
 * be: the execution list, the key's pointer object and the output prefix.
 *
 * The local runtime's S3 is unversioned (fauxqs has no versioning), so the
 * events carry an ETag and no versionId: these cases exercise the ETag pin
 * (If-Match). fauxqs 2.4.1 honours If-Match on GET but not on HEAD; the
 * starter compares the ETag a HEAD answers as well, so the verdicts here do
 * not depend on HEAD support.
 */
describe('adversarial upload events on the local runtime', () => {
  let env: ChaosRuntime;
  let sfn: SFNClient;
  let clip: string;
  let otherClip: string;
  let thirdClip: string;
  const runId = Date.now().toString(36);

  beforeAll(async () => {
    env = await startChaosRuntime('adversarial-events');
    sfn = new SFNClient({
      region: env.runtime.region,
      endpoint: env.runtime.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    clip = await makeClip({ seconds: 1, width: 160, height: 120, audio: false });
    otherClip = await makeClip({ seconds: 2, width: 160, height: 120, audio: false });
    thirdClip = await makeClip({ seconds: 1, width: 192, height: 108, audio: false });
  });
  afterAll(async () => {
    sfn?.destroy();
    await env?.stop();
    cleanupMedia();
  });

  // ---- observation helpers --------------------------------------------------

  const md5 = (file: string) => createHash('md5').update(readFileSync(file)).digest('hex');

  /** The starter's `UploadEventsRejected` count so far (its EMF records on this runtime). */
  const rejectedCount = () =>
    env.runtime
      .metrics()
      .records.map((e) => e.record[METRIC_NAMES.uploadEventsRejected])
      .reduce<number>((sum, v) => sum + (typeof v === 'number' ? v : 0), 0);

  const executionNames = async (): Promise<string[]> => {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const res = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: env.out.StateMachineArn, nextToken })
      );
      for (const e of res.executions ?? []) if (e.name) names.push(e.name);
      nextToken = res.nextToken;
    } while (nextToken);
    return names;
  };

  const objectExists = async (bucket: string, key: string) => {
    try {
      await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') return false;
      throw err;
    }
  };

  /** Every object under a video's output prefix. */
  const outputsOf = async (videoId: string) => {
    const res = await env.s3.send(
      new ListObjectsV2Command({ Bucket: env.out.OutputBucketName, Prefix: `outputs/${videoId}/` })
    );
    return (res.Contents ?? []).map((o) => o.Key);
  };

  const queueIdle = async () => {
    const res = await env.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: env.out.StartWorkflowQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      })
    );
    return (
      Number(res.Attributes?.ApproximateNumberOfMessages) === 0 &&
      Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible) === 0
    );
  };

  /** An S3 notification as raw SNS delivery hands it to the starter queue, forged by the test. */
  const forgedEvent = (o: {
    bucket: string;
    key: string;
    eTag: string;
    size?: number;
    sequencer?: string;
  }) =>
    JSON.stringify({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: env.runtime.region,
          eventTime: new Date().toISOString(),
          eventName: 'ObjectCreated:Put',
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'forged',
            bucket: { name: o.bucket, arn: `arn:aws:s3:::${o.bucket}` },
            object: {
              key: o.key,
              size: o.size ?? 1024,
              eTag: o.eTag,
              sequencer: o.sequencer ?? 'FFFFFFFFFFFFFFFFFF',
            },
          },
        },
      ],
    });

  /** Sends one forged message and waits until the starter has judged it (rejected or not). */
  const sendToStarter = async (body: string, expectRejected: boolean) => {
    const before = rejectedCount();
    await env.sqs.send(
      new SendMessageCommand({ QueueUrl: env.out.StartWorkflowQueueUrl, MessageBody: body })
    );
    if (expectRejected) {
      await poll(
        'the starter to reject the event',
        async () => (rejectedCount() > before ? true : undefined),
        60_000
      );
    }
    await poll(
      'the starter queue to be empty',
      async () => ((await queueIdle()) ? true : undefined),
      60_000
    );
  };

  const fakeEtag = 'ffffffffffffffffffffffffffffffff';

  // ---- cases ----------------------------------------------------------------

  it('forged event: a real key with a fake ETag and sequencer FFFF… starts nothing, leaves the pointer, and the next real upload takes it', async () => {
    // Prepare: a real upload, processed, naming the key's pointer.
    const key = `uploads/adv/${runId}/forged-etag.mp4`;
    const real = await upload(env, clip, key);
    expect((await manifestOf(env, real.videoId, 240_000)).status).toBe('COMPLETE');
    const pointerBefore = await poll('the pointer', () => pointerOf(env, key), 30_000);
    const forgedSource: SourceObject = {
      bucket: env.out.UploadBucketName,
      key,
      etag: fakeEtag,
      size: 1024,
    };
    const forgedId = videoIdFor(forgedSource);

    // Act: the attack.
    await sendToStarter(
      forgedEvent({ bucket: env.out.UploadBucketName, key, eTag: fakeEtag }),
      true
    );

    // Assess: no execution, no output, the pointer untouched.
    expect(await executionNames()).not.toContain(forgedId);
    expect(await outputsOf(forgedId)).toEqual([]);
    expect(await pointerOf(env, key)).toEqual(pointerBefore);
    // The forged FFFF… sequencer is not stored anywhere, so the next real upload takes the pointer.
    const next = await upload(env, otherClip, key);
    expect((await manifestOf(env, next.videoId, 240_000)).status).toBe('COMPLETE');
    await poll(
      'the pointer to name the next real upload',
      async () => ((await pointerOf(env, key))?.videoId === next.videoId ? true : undefined),
      60_000
    );
  });

  it('forged event: a key that does not exist starts nothing and writes no pointer', async () => {
    // Prepare
    const key = `uploads/adv/${runId}/never-uploaded.mp4`;
    const forgedId = videoIdFor({
      bucket: env.out.UploadBucketName,
      key,
      etag: fakeEtag,
      size: 1024,
    });
    // Act
    await sendToStarter(
      forgedEvent({ bucket: env.out.UploadBucketName, key, eTag: fakeEtag }),
      true
    );
    // Assess
    expect(await executionNames()).not.toContain(forgedId);
    expect(await outputsOf(forgedId)).toEqual([]);
    expect(await pointerOf(env, key)).toBeUndefined();
  });

  it('forged event: a real object of another bucket (the output bucket) is never processed', async () => {
    // Prepare: a real video in the output bucket under an uploads/ key, with its real ETag.
    const key = `uploads/adv/${runId}/in-output-bucket.mp4`;
    const put = await env.s3.send(
      new PutObjectCommand({ Bucket: env.out.OutputBucketName, Key: key, Body: readFileSync(clip) })
    );
    const eTag = (put.ETag ?? '').replaceAll('"', '');
    const source = { bucket: env.out.OutputBucketName, key, etag: eTag, size: statSync(clip).size };
    const forgedId = videoIdFor(source);
    try {
      // Act
      await sendToStarter(
        forgedEvent({ bucket: env.out.OutputBucketName, key, eTag, size: source.size }),
        true
      );
      // Assess
      expect(await executionNames()).not.toContain(forgedId);
      expect(await outputsOf(forgedId)).toEqual([]);
      expect(
        await objectExists(
          env.out.OutputBucketName,
          currentPointerKey(env.out.OutputBucketName, key)
        )
      ).toBe(false);
    } finally {
      await env.s3.send(new DeleteObjectCommand({ Bucket: env.out.OutputBucketName, Key: key }));
    }
  });

  it('replayed events: an old event of a superseded upload, and the current one with a forged FFFF… sequencer, change nothing', async () => {
    // Prepare: upload A, then B over it; both processed.
    const key = `uploads/adv/${runId}/replayed.mp4`;
    const a = await upload(env, clip, key);
    expect((await manifestOf(env, a.videoId, 240_000)).status).toBe('COMPLETE');
    const b = await upload(env, otherClip, key);
    expect((await manifestOf(env, b.videoId, 240_000)).status).toBe('COMPLETE');
    await poll(
      'the pointer to name B',
      async () => ((await pointerOf(env, key))?.videoId === b.videoId ? true : undefined),
      60_000
    );
    const pointerBefore = await pointerOf(env, key);
    const executionsBefore = await executionNames();

    // Act 1: replay A's event (its bytes are gone from the unversioned key).
    await sendToStarter(
      forgedEvent({
        bucket: env.out.UploadBucketName,
        key,
        eTag: a.source.etag!,
        size: statSync(clip).size,
        sequencer: 'FFFFFFFFFFFFFFFFFF',
      }),
      true
    );
    // Act 2: replay B's event (current, real) with a forged FFFF… sequencer.
    await sendToStarter(
      forgedEvent({
        bucket: env.out.UploadBucketName,
        key,
        eTag: b.source.etag!,
        size: statSync(otherClip).size,
        sequencer: 'FFFFFFFFFFFFFFFFFF',
      }),
      false
    );

    // Assess: no new execution (B's is refused by name), the pointer unchanged, A's manifest as it was.
    expect((await executionNames()).sort()).toEqual(executionsBefore.sort());
    expect(await pointerOf(env, key)).toEqual(pointerBefore);
    // The next real upload still takes the pointer: the FFFF… sequencer decided nothing.
    const c = await upload(env, thirdClip, key);
    expect((await manifestOf(env, c.videoId, 240_000)).status).toBe('COMPLETE');
    await poll(
      'the pointer to name C',
      async () => ((await pointerOf(env, key))?.videoId === c.videoId ? true : undefined),
      60_000
    );
  });

  it('two uploads to one key in quick succession: every manifest describes its own bytes', async () => {
    // Prepare
    const key = `uploads/adv/${runId}/quick.mp4`;
    const files = new Map([
      [md5(clip), clip],
      [md5(otherClip), otherClip],
    ]);
    // Act: the second PUT lands while the first upload's event is still on its way.
    const first = await upload(env, clip, key);
    const second = await upload(env, otherClip, key);
    // Assess: the newer upload ends COMPLETE, describing the second file.
    const newer = await manifestOf(env, second.videoId, 240_000);
    expect(newer.status).toBe('COMPLETE');
    await poll(
      'the starter queue to be empty',
      async () => ((await queueIdle()) ? true : undefined),
      60_000
    );
    await poll(
      'no execution of the key still running',
      async () => {
        const res = await sfn.send(
          new ListExecutionsCommand({
            stateMachineArn: env.out.StateMachineArn,
            statusFilter: 'RUNNING',
          })
        );
        const mine = (res.executions ?? []).filter(
          (e) => e.name === first.videoId || e.name === second.videoId
        );
        return mine.length === 0 ? true : undefined;
      },
      240_000
    );
    const manifests: Manifest[] = [];
    for (const id of [first.videoId, second.videoId]) {
      if (await objectExists(env.out.OutputBucketName, manifestKey(id))) {
        const res = await env.s3.send(
          new GetObjectCommand({ Bucket: env.out.OutputBucketName, Key: manifestKey(id) })
        );
        manifests.push(ManifestSchema.parse(JSON.parse(await res.Body!.transformToString())));
      }
    }
    for (const m of manifests) {
      if (m.status === 'COMPLETE') {
        // Its probe and its source name the same bytes: the file whose MD5 is its ETag.
        const file = files.get(m.source.etag ?? '');
        expect(file, `manifest ${m.videoId} names an ETag of neither file`).toBeDefined();
        expect(m.probe?.sizeBytes).toBe(statSync(file!).size);
        expect(m.source.size).toBe(statSync(file!).size);
      } else {
        // The earlier upload may end with a clear verdict instead.
        expect(m.videoId).toBe(first.videoId);
        expect(m.status).toBe('FAILED');
        expect(m.reason).toMatch(/source changed while processing|the upload is gone/);
      }
    }
    console.log(
      `[adversarial] quick succession: ${manifests.map((m) => `${m.videoId}=${m.status}`).join(', ')}; ` +
        `first upload ${manifests.some((m) => m.videoId === first.videoId) ? 'has' : 'has no'} manifest`
    );
  });

  it('amplification: a 2 KB thumbnail-times value plans at most 20 extra thumbnails, lists the rest, and is COMPLETE', async () => {
    // Prepare: 339 times (0.01 s apart; the first 20 fall within the 1 s clip) and one entry
    // that is not a time, as large as S3 lets user metadata be (2 KB, key and value), which
    // the local S3 now enforces too.
    const times = Array.from({ length: 339 }, (_, i) => (i / 100).toFixed(2));
    const value = [...times, '<script>alert(1)</script>'].join(',');
    expect(Buffer.byteLength(`thumbnail-times${value}`)).toBeLessThanOrEqual(2048);
    expect(value.length).toBeGreaterThan(1700);
    const key = `uploads/adv/${runId}/amplified.mp4`;
    const put = await env.s3.send(
      new PutObjectCommand({
        Bucket: env.out.UploadBucketName,
        Key: key,
        Body: readFileSync(clip),
        Metadata: { 'thumbnail-times': value },
      })
    );
    const videoId = videoIdFor({
      bucket: env.out.UploadBucketName,
      key,
      etag: put.ETag?.replaceAll('"', ''),
    });
    // Act
    const manifest = await manifestOf(env, videoId, 300_000);
    // Assess
    expect(manifest.status).toBe('COMPLETE');
    const requested = manifest.branches.filter((b) => b.id.startsWith('thumb-at-'));
    expect(requested).toHaveLength(20);
    expect(manifest.counts.total).toBeLessThanOrEqual(3 + 20 + 2 + 1);
    expect(manifest.warnings).toHaveLength(2);
    expect(manifest.warnings?.join('\n')).toContain('"<script>alert(1)</script>"');
    expect(manifest.warnings?.join('\n')).toContain('ignored 319 times beyond the limit of 20');
    expect((await executionNames()).filter((n) => n === videoId)).toHaveLength(1);
  });

  it.each([
    { what: 'a one-frame video', seconds: 0.04, defaults: 1 },
    { what: 'a 0.5 s video', seconds: 0.5, defaults: 3 },
  ])(
    '#18: $what is COMPLETE, its default thumbnails clamped to its frames',
    async ({ seconds, defaults }) => {
      // Prepare
      const short = await makeClip({ seconds, width: 160, height: 120, audio: false });
      // Act
      const u = await upload(env, short, `uploads/adv/${runId}/short-${seconds}.mp4`);
      const manifest = await manifestOf(env, u.videoId, 240_000);
      // Assess
      expect(manifest.status).toBe('COMPLETE');
      expect(manifest.branches.filter((b) => /^thumb-\d\d$/.test(b.id))).toHaveLength(defaults);
    }
  );
});
