import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { App, Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  type BranchResult,
  branchRecordKey,
  type Manifest,
  ManifestSchema,
  manifestKey,
  videoIdFor,
} from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { applyNagPacks, cdkJsonContext } from '../../lib/app.js';
import {
  VideoPipelineStack,
  type VideoPipelineStackProps,
} from '../../lib/stacks/video-pipeline-stack.js';
import { silentLogger, startLocalRuntime } from '../../local-runtime/src/index.js';
import { deployStacks, destroyStacks } from '../../scripts/localstack/stacks.js';
import { describeE2E } from './guard.js';

/**
 * Policies that need a stack of their own: variants of the e2e app built with other stack props
 * (not a test hook in the deployed code). Both variants are synthesized once, as two stacks of one
 * app under their own names, so nothing they create collides with the main stack:
 *  - `VideoPipelineNoFallback`: a 1 s rendition timeout and no fallback, so the primary fails;
 *  - `VideoPipelineSequential`: sequential mode with a 1 s rendition timeout, so every rendition
 *    times out and falls back, and a failed branch stops the sequence;
 *  - `VideoPipelineFireAndForget`: `awaitMode: 'none'`, every branch dispatched asynchronously.
 * On the local runtime each stack gets its own runtime; on LocalStack both are deployed
 * (concurrently) next to the main stack and destroyed afterwards (scripts/localstack/stacks.ts).
 * Three stacks is the fewest the semantics allow: the primary-failure case needs a stack without
 * the fallback, the fallback case one with it, and await none allows neither timeout nor fallback.
 */
const target = inject('e2eTarget');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';

const VARIANTS = {
  VideoPipelineNoFallback: { renditionTimeout: Duration.seconds(1), renditionFallback: false },
  VideoPipelineSequential: { fanOutMode: 'sequential', renditionTimeout: Duration.seconds(1) },
  VideoPipelineFireAndForget: { awaitMode: 'none' },
} satisfies Record<string, VideoPipelineStackProps>;
type VariantName = keyof typeof VARIANTS;

const elsewhere = ['local', 'localstack'].includes(target.name)
  ? undefined
  : `the policy variant stacks are deployed only to the local runtime and LocalStack, not ${target.name}`;

/** One app with every variant stack: the main stack's flags and nag packs, other names and props. */
const synthVariants = (): string => {
  const outdir = mkdtempSync(join(tmpdir(), 'e2e-policies-'));
  const app = new App({ outdir, context: cdkJsonContext() });
  for (const [name, props] of Object.entries(VARIANTS)) {
    new VideoPipelineStack(app, name, { description: `e2e policy variant ${name}`, ...props });
  }
  applyNagPacks(app);
  app.synth();
  return outdir;
};

interface Variant {
  readonly s3: S3Client;
  readonly outputs: Record<string, string>;
}

/**
 * Synthesizes the variants and brings each up on the target for the whole file: a local runtime
 * per stack, or one concurrent deploy of both stacks to LocalStack (destroyed in afterAll).
 */
const useVariants = () => {
  const variants = new Map<VariantName, Variant>();
  const stops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    const assemblyDir = synthVariants();
    const names = Object.keys(VARIANTS) as VariantName[];
    if (target.name === 'local') {
      for (const name of names) {
        const runtime = await startLocalRuntime({
          assemblyDir,
          stackName: name,
          port: 0,
          logger: silentLogger,
        });
        stops.push(() => runtime.stop());
        variants.set(name, {
          outputs: runtime.outputs,
          s3: new S3Client({
            endpoint: runtime.endpoint,
            region: runtime.region,
            credentials,
            forcePathStyle: true,
          }),
        });
      }
      return;
    }
    const endpoint = target.endpoint!;
    const deployed = await deployStacks(assemblyDir, names, { endpoint, region });
    console.log(
      `[e2e] deployed ${names.join(', ')} to LocalStack in ${deployed.seconds.toFixed(1)} s`
    );
    stops.push(async () => {
      const t0 = performance.now();
      await destroyStacks(assemblyDir, names, { endpoint, region });
      console.log(
        `[e2e] destroyed ${names.join(', ')} on LocalStack in ${((performance.now() - t0) / 1000).toFixed(1)} s`
      );
    });
    const s3 = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
    for (const name of names) variants.set(name, { s3, outputs: deployed.outputs[name]! });
  }, 900_000);
  afterAll(async () => {
    cleanupMedia();
    for (const stop of stops) await stop();
  }, 600_000);

  const of = (name: VariantName): Variant => {
    const v = variants.get(name);
    if (!v) throw new Error(`variant ${name} is not up`);
    return v;
  };
  const upload = async (
    name: VariantName,
    file: string,
    fileName: string,
    metadata?: Record<string, string>
  ) => {
    const { s3, outputs } = of(name);
    const key = `uploads/e2e-policies/${fileName}`;
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: outputs.UploadBucketName,
        Key: key,
        Body: readFileSync(file),
        Metadata: metadata,
      })
    );
    return videoIdFor({
      bucket: outputs.UploadBucketName as string,
      key,
      versionId: put.VersionId,
      etag: put.ETag?.replaceAll('"', ''),
    });
  };
  const waitForManifest = async (name: VariantName, videoId: string): Promise<Manifest> => {
    const { s3, outputs } = of(name);
    const deadline = Date.now() + 240_000;
    for (;;) {
      try {
        const res = await s3.send(
          new GetObjectCommand({ Bucket: outputs.OutputBucketName, Key: manifestKey(videoId) })
        );
        return ManifestSchema.parse(JSON.parse(await res.Body!.transformToString()));
      } catch (err) {
        if ((err as Error).name !== 'NoSuchKey') throw err;
        if (Date.now() > deadline) throw new Error(`no manifest for ${videoId} on ${name}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const readRecord = async (name: VariantName, key: string): Promise<BranchResult | undefined> => {
    const { s3, outputs } = of(name);
    try {
      const res = await s3.send(
        new GetObjectCommand({ Bucket: outputs.OutputBucketName, Key: key })
      );
      return JSON.parse(await res.Body!.transformToString()) as BranchResult;
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw err;
    }
  };
  const headOutput = (name: VariantName, key: string) =>
    of(name).s3.send(
      new HeadObjectCommand({ Bucket: of(name).outputs.OutputBucketName, Key: key })
    );
  return { upload, waitForManifest, headOutput, readRecord };
};

describeE2E(target, elsewhere)(`fan-out policies on variant stacks (${target.name})`, () => {
  const { upload, waitForManifest, headOutput, readRecord } = useVariants();

  it('await none: the manifest is written once every branch is dispatched, before the slowest branch has finished', async () => {
    // Prepare: a 10 s 720p clip, whose 720p rendition takes seconds to encode.
    const clip = await makeClip({ seconds: 10, width: 1280, height: 720 });
    // Act
    const videoId = await upload('VideoPipelineFireAndForget', clip, 'fire-and-forget.mp4');
    const manifest = await waitForManifest('VideoPipelineFireAndForget', videoId);
    // The outcome still arrives afterwards, in the branch's own record (polled, not awaited by the Map).
    const recordKey = branchRecordKey(videoId, 'rendition-720p');
    let record: BranchResult | undefined;
    await expect
      .poll(async () => (record = await readRecord('VideoPipelineFireAndForget', recordKey)), {
        timeout: 240_000,
        interval: 1000,
      })
      .toBeDefined();
    const manifestAfter = await waitForManifest('VideoPipelineFireAndForget', videoId);
    // Assess
    expect(manifest.policy).toEqual({ mode: 'parallel', await: 'none' });
    expect(manifest.status).toBe('COMPLETE');
    expect(new Set(manifest.branches.map((b) => [b.role, b.status].join(' ')))).toEqual(
      new Set(['fire-and-forget SENT'])
    );
    expect(manifest.fanOut).toMatchObject({ succeeded: 0, failed: 0, skipped: 0 });
    expect(record).toMatchObject({ id: 'rendition-720p', status: 'SUCCEEDED' });
    // The Map did not wait: the rendition finished after the manifest had been written…
    expect(Date.parse(record!.finishedAt!)).toBeGreaterThan(Date.parse(manifest.createdAt));
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
    expect(byId['rendition-720p-fallback']?.artifacts.map((a) => a.key)).toEqual([fallbackKey]);
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
