import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  artifactKey,
  type BranchResult,
  branchRecordKey,
  type Manifest,
  ManifestSchema,
  manifestKey,
  videoIdFor,
} from '../../contract/index.js';
import { cleanupMedia, makeClip, useMediaTools } from '../../fixtures/media.js';
import { runTool } from '../../lambdas/shared/media.js';
import { applyNagPacks, cdkJsonContext } from '../../lib/app.js';
import { VideoPipelineStack } from '../../lib/stacks/video-pipeline-stack.js';
import { silentLogger, startLocalRuntime } from '../../local-runtime/src/index.js';
import { deployStacks, destroyStacks } from '../../scripts/localstack/stacks.js';
import { describeE2E } from './guard.js';

/**
 * Segment-parallel renditions end to end, on a variant of the e2e app whose
 * segment threshold is lowered (stack props, not a test hook in the deployed
 * code): a 12 s clip is above an 8 s threshold, so its rendition is cut into
 * 2 s segments that the Segments Distributed Map encodes before the FanOut,
 * and the rendition branch joins them.
 */
const target = inject('e2eTarget');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
/** The variant stack: the main stack's flags and nag packs, another name, a lowered threshold. */
const STACK = 'VideoPipelineSegments';

interface Facts {
  frames: number;
  videoSec: number;
  audioSec: number | null;
}

const measure = async (file: string): Promise<Facts> => {
  const res = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_type,duration,nb_read_frames',
      '-of',
      'json',
      file,
    ],
    { timeoutMs: 60_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  const { streams } = JSON.parse(res.stdout) as {
    streams: { codec_type: string; duration: string; nb_read_frames?: string }[];
  };
  const video = streams.find((s) => s.codec_type === 'video')!;
  const audio = streams.find((s) => s.codec_type === 'audio');
  return {
    frames: Number(video.nb_read_frames),
    videoSec: Number(video.duration),
    audioSec: audio ? Number(audio.duration) : null,
  };
};

describeE2E(target)('segment-parallel rendition (variant stack, lowered segment threshold)', () => {
  let outputs: Record<string, string | undefined>;
  let s3: S3Client;
  const stops: Array<() => Promise<void>> = [];
  const dir = mkdtempSync(join(tmpdir(), 'e2e-segments-'));

  beforeAll(async () => {
    useMediaTools();
    const outdir = join(dir, 'cdk.out');
    const app = new App({ outdir, context: cdkJsonContext() });
    new VideoPipelineStack(app, STACK, {
      description: 'e2e segment variant',
      segmentThreshold: Duration.seconds(8),
      segmentLength: Duration.seconds(2),
    });
    applyNagPacks(app);
    app.synth();
    if (target.name === 'local') {
      const runtime = await startLocalRuntime({
        assemblyDir: outdir,
        stackName: STACK,
        port: 0,
        logger: silentLogger,
      });
      stops.push(() => runtime.stop());
      outputs = runtime.outputs;
      s3 = new S3Client({
        endpoint: runtime.endpoint,
        region: runtime.region,
        credentials,
        forcePathStyle: true,
      });
      return;
    }
    const endpoint = target.endpoint!;
    const deployed = await deployStacks(outdir, [STACK], { endpoint, region });
    console.log(`[e2e] deployed ${STACK} to LocalStack in ${deployed.seconds.toFixed(1)} s`);
    stops.push(() => destroyStacks(outdir, [STACK], { endpoint, region }));
    outputs = deployed.outputs[STACK]!;
    s3 = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  }, 900_000);

  afterAll(async () => {
    cleanupMedia();
    for (const stop of stops) await stop();
  }, 600_000);

  const get = async (key: string): Promise<Buffer> => {
    const res = await s3.send(new GetObjectCommand({ Bucket: outputs.OutputBucketName, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  };

  const waitForManifest = async (videoId: string): Promise<Manifest> => {
    const deadline = Date.now() + 240_000;
    for (;;) {
      try {
        return ManifestSchema.parse(JSON.parse((await get(manifestKey(videoId))).toString()));
      } catch (err) {
        if ((err as Error).name !== 'NoSuchKey') throw err;
        if (Date.now() > deadline) throw new Error(`no manifest for ${videoId}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  it('a 12 s clip above the threshold ends COMPLETE with a frame-exact, playable joined rendition', async () => {
    // Prepare: 12 s at 25 fps with audio = 300 frames; 2 s segments on the 50-frame GOP grid → 6
    const clip = await makeClip({ seconds: 12, width: 640, height: 360, audio: true });
    const key = 'uploads/e2e-segments/long.mp4';
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: outputs.UploadBucketName,
        Key: key,
        Body: readFileSync(clip),
      })
    );
    const videoId = videoIdFor({
      bucket: outputs.UploadBucketName as string,
      key,
      versionId: put.VersionId,
      etag: put.ETag?.replaceAll('"', ''),
    });

    // Act
    const manifest = await waitForManifest(videoId);

    // Assess: one rendition branch in the fan-in, COMPLETE
    expect(manifest.status).toBe('COMPLETE');
    const rendition = manifest.branches.find((b) => b.id === 'rendition-360p');
    expect(rendition).toMatchObject({
      kind: 'rendition',
      status: 'SUCCEEDED',
      role: 'primary',
      segmentation: { count: 6, lengthSec: 2 },
    });
    expect(manifest.branches.some((b) => b.kind === 'rendition-segment')).toBe(false);
    // Every segment ran in the Segments Distributed Map and recorded its success.
    const segmentRecords = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(
        async (i) =>
          JSON.parse(
            (await get(branchRecordKey(videoId, `rendition-360p-s000${i}`))).toString()
          ) as BranchResult
      )
    );
    expect(segmentRecords.map((r) => r.status)).toEqual(Array(6).fill('SUCCEEDED'));
    // The join: playable, the source's 300 frames, 12 s within a frame, A/V drift ≤ 1 frame.
    const file = join(dir, 'joined.mp4');
    writeFileSync(file, await get(artifactKey(videoId, 'renditions/360p.mp4')));
    const facts = await measure(file);
    expect(facts.frames).toBe(300);
    expect(Math.abs(facts.videoSec - 12)).toBeLessThanOrEqual(1 / 25);
    expect(facts.audioSec).not.toBeNull();
    expect(Math.abs(facts.audioSec! - facts.videoSec)).toBeLessThanOrEqual(1 / 25);
    const decode = await runTool('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], {
      timeoutMs: 60_000,
    });
    expect(decode.code).toBe(0);
    expect(decode.stderr.trim()).toBe('');
  }, 300_000);
});
