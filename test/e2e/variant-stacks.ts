import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll } from 'vitest';
import { type Manifest, ManifestSchema, manifestKey } from '../../contract/index.js';
import { applyNagPacks, cdkJsonContext } from '../../lib/app.js';
import {
  VideoPipelineStack,
  type VideoPipelineStackProps,
} from '../../lib/stacks/video-pipeline-stack.js';
import { silentLogger, startLocalRuntime } from '../../local-runtime/src/index.js';
import { deployStacks, destroyStacks } from '../../scripts/localstack/stacks.js';
import { poll } from '../helpers/poll.js';
import { clientsFor, type E2ETarget } from './target.js';
import { putUpload } from './videos.js';

/** The emulators' credentials (the local runtime and LocalStack accept any). */
export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** One variant stack, up on the file's target. */
export interface VariantStack {
  /** The endpoint and region its clients use (the variant's own runtime, or LocalStack). */
  readonly endpoint: string;
  readonly region: string;
  readonly s3: S3Client;
  /** The stack's outputs (`UploadBucketName`, `OutputBucketName`, …). */
  readonly outputs: Record<string, string>;
}

/** The object's bytes, or undefined while it does not exist. */
export const readObject = async (
  s3: S3Client,
  bucket: string,
  key: string
): Promise<Buffer | undefined> => {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') return undefined;
    throw err;
  }
};

/**
 * Variant stacks for one e2e file: the main stack's flags and nag packs, other names and other
 * stack props (not a test hook in the deployed code), so nothing they create collides with the
 * main stack. Call it inside the file's `describeE2E(...)` suite:
 *
 * ```ts
 * const variants = useVariantStacks(target, { VideoPipelineSequential: { fanOutMode: 'sequential' } });
 * it('…', async () => {
 *   const videoId = await variants.upload('VideoPipelineSequential', clip, 'uploads/x/a.mp4');
 *   const manifest = await variants.waitForManifest('VideoPipelineSequential', videoId);
 * });
 * ```
 *
 * beforeAll synthesizes one app holding every variant into a temporary directory, then starts a
 * local runtime per stack (target `local`) or deploys them all at once to LocalStack
 * (scripts/localstack/stacks.ts). afterAll stops the runtimes or destroys the stacks, then
 * removes the assembly (its ffmpeg layer is 157 MB), also when beforeAll failed half-way.
 */
export const useVariantStacks = <Name extends string>(
  target: E2ETarget,
  variants: Readonly<Record<Name, VideoPipelineStackProps>>
) => {
  const up = new Map<Name, VariantStack>();
  const stops: Array<() => Promise<void>> = [];
  let assemblyDir: string | undefined;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const names = Object.keys(variants) as Name[];

  const tearDown = async () => {
    try {
      // Stop in reverse: a stack deployed last is destroyed first.
      for (const stop of stops.splice(0).reverse()) await stop();
    } finally {
      if (assemblyDir) rmSync(assemblyDir, { recursive: true, force: true });
      assemblyDir = undefined;
    }
  };

  beforeAll(async () => {
    assemblyDir = mkdtempSync(join(tmpdir(), 'e2e-variants-'));
    const app = new App({ outdir: assemblyDir, context: cdkJsonContext() });
    for (const name of names) {
      new VideoPipelineStack(app, name, { description: `e2e variant ${name}`, ...variants[name] });
    }
    applyNagPacks(app);
    app.synth();
    if (target.name === 'local') {
      for (const name of names) {
        const runtime = await startLocalRuntime({
          assemblyDir,
          stackName: name,
          port: 0,
          logger: silentLogger,
        });
        const s3 = new S3Client({
          endpoint: runtime.endpoint,
          region: runtime.region,
          credentials,
          forcePathStyle: true,
        });
        stops.push(async () => {
          s3.destroy();
          await runtime.stop();
        });
        up.set(name, {
          endpoint: runtime.endpoint,
          region: runtime.region,
          s3,
          outputs: runtime.outputs as Record<string, string>,
        });
      }
      return;
    }
    if (target.name !== 'localstack' || !target.endpoint) {
      throw new Error(`variant stacks run on the local runtime and LocalStack, not ${target.name}`);
    }
    const endpoint = target.endpoint;
    const dir = assemblyDir;
    const deployed = await deployStacks(dir, names, { endpoint, region });
    console.log(
      `[e2e] deployed ${names.join(', ')} to LocalStack in ${deployed.seconds.toFixed(1)} s`
    );
    const s3 = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
    stops.push(async () => {
      s3.destroy();
      const t0 = performance.now();
      await destroyStacks(dir, names, { endpoint, region });
      console.log(
        `[e2e] destroyed ${names.join(', ')} on LocalStack in ${((performance.now() - t0) / 1000).toFixed(1)} s`
      );
    });
    for (const name of names) {
      up.set(name, { endpoint, region, s3, outputs: deployed.outputs[name]! });
    }
  }, 900_000);

  afterAll(tearDown, 600_000);

  /** The variant's clients and outputs; throws when beforeAll did not bring it up. */
  const of = (name: Name): VariantStack => {
    const v = up.get(name);
    if (!v) throw new Error(`variant stack ${name} is not up`);
    return v;
  };

  /** Uploads `file` to the variant's upload bucket under `key`; resolves with its videoId. */
  const upload = async (
    name: Name,
    file: string,
    key: string,
    metadata?: Record<string, string>
  ): Promise<string> => {
    const { s3, outputs } = of(name);
    return (await putUpload(s3, outputs.UploadBucketName, key, file, metadata)).videoId;
  };

  /** The video's manifest on the variant, once written (polled). */
  const waitForManifest = async (
    name: Name,
    videoId: string,
    timeoutMs = 240_000
  ): Promise<Manifest> => {
    const { s3, outputs } = of(name);
    const body = await poll(
      `manifest of ${videoId} on ${name}`,
      () => readObject(s3, outputs.OutputBucketName, manifestKey(videoId)),
      timeoutMs
    );
    return ManifestSchema.parse(JSON.parse(body.toString('utf8')));
  };

  /** An output object of the variant, or undefined while it does not exist. */
  const readOutput = (name: Name, key: string) =>
    readObject(of(name).s3, of(name).outputs.OutputBucketName, key);

  /** The video's execution history on the variant, every page (its execution is named by the videoId). */
  const history = async (name: Name, videoId: string): Promise<HistoryEvent[]> => {
    const v = of(name);
    const { sfn } = clientsFor({ ...target, endpoint: v.endpoint });
    const executionArn = `${v.outputs.StateMachineArn!.replace(':stateMachine:', ':execution:')}:${videoId}`;
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 })
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
    } finally {
      sfn.destroy();
    }
    return events;
  };

  return { of, upload, waitForManifest, readOutput, history };
};
