import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  type CurrentPointer,
  CurrentPointerSchema,
  currentPointerKey,
  type Manifest,
  ManifestSchema,
  manifestKey,
  videoIdFor,
} from '../../contract/index.js';
import { type LocalRuntime, startLocalRuntime } from '../../local-runtime/src/index.js';
import { ROOT } from '../../scripts/synth.js';
import { poll } from '../helpers/poll.js';

/** A local runtime for one chaos file, its logs in .e2e/chaos-<name>.log, and clients on it. */
export const startChaosRuntime = async (name: string, accountConcurrency?: number) => {
  mkdirSync(join(ROOT, '.e2e'), { recursive: true });
  const log = createWriteStream(join(ROOT, '.e2e', `chaos-${name}.log`));
  const write = (level: string) => (m: string) => log.write(`${level} ${m}\n`);
  const runtime: LocalRuntime = await startLocalRuntime({
    assemblyDir: join(ROOT, 'cdk.out'),
    port: 0,
    accountConcurrency,
    logger: { info: write('INFO'), warn: write('WARN'), error: write('ERROR'), debug: () => {} },
  });
  const clientConfig = {
    region: runtime.region,
    endpoint: runtime.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // The test observes through the same faulty S3 as the pipeline: it must outlast
    // injected SlowDowns too (the SDK default of 3 attempts loses ~1 poll in 1000).
    maxAttempts: 10,
  };
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const sqs = new SQSClient(clientConfig);
  const out = runtime.outputs;
  return {
    runtime,
    s3,
    sqs,
    out,
    async stop() {
      s3.destroy();
      sqs.destroy();
      await runtime.stop();
      log.end();
    },
  };
};
export type ChaosRuntime = Awaited<ReturnType<typeof startChaosRuntime>>;

/** The suite's one poll (test/helpers/poll.ts), re-exported for the chaos files. */
export { poll };

const getIfExists = async (s3: S3Client, bucket: string, key: string) => {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await res.Body!.transformToString();
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') return undefined;
    throw err;
  }
};

export const upload = async (env: ChaosRuntime, file: string, key: string) => {
  const put = await env.s3.send(
    new PutObjectCommand({ Bucket: env.out.UploadBucketName, Key: key, Body: readFileSync(file) })
  );
  const source = {
    bucket: env.out.UploadBucketName,
    key,
    versionId: put.VersionId,
    etag: put.ETag?.replaceAll('"', ''),
  };
  return { source, videoId: videoIdFor(source) };
};

export const manifestOf = async (env: ChaosRuntime, videoId: string, timeoutMs: number) =>
  poll<Manifest>(
    `manifest of ${videoId}`,
    async () => {
      const text = await getIfExists(env.s3, env.out.OutputBucketName, manifestKey(videoId));
      return text === undefined ? undefined : ManifestSchema.parse(JSON.parse(text));
    },
    timeoutMs,
    { intervalMs: 250 }
  );

export const pointerOf = async (
  env: ChaosRuntime,
  key: string
): Promise<CurrentPointer | undefined> => {
  const text = await getIfExists(
    env.s3,
    env.out.OutputBucketName,
    currentPointerKey(env.out.UploadBucketName, key)
  );
  return text === undefined ? undefined : CurrentPointerSchema.parse(JSON.parse(text));
};
