import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  type CurrentPointer,
  CurrentPointerSchema,
  currentPointerKey,
  type Manifest,
  ManifestSchema,
  manifestKey,
  videoIdFor,
} from '../../contract/index.js';
import {
  type LocalRuntime,
  type LocalRuntimeOptions,
  ROOT,
  startLocalRuntime,
} from '../../local-runtime/src/index.js';
import { poll } from '../helpers/poll.js';

/** A local runtime for one chaos file, its logs in .e2e/chaos-<name>.log, and clients on it. */
export const startChaosRuntime = async (
  name: string,
  accountConcurrency?: number,
  /** Runtime options; `assemblyDir` for a variant stack. @default ROOT/cdk.out */
  options: Partial<LocalRuntimeOptions> = {}
) => {
  mkdirSync(join(ROOT, '.e2e'), { recursive: true });
  const log = createWriteStream(join(ROOT, '.e2e', `chaos-${name}.log`));
  const write = (level: string) => (m: string) => log.write(`${level} ${m}\n`);
  const runtime: LocalRuntime = await startLocalRuntime({
    assemblyDir: join(ROOT, 'cdk.out'),
    port: 0,
    accountConcurrency,
    ...options,
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

/** Visible + in-flight (+ delayed) messages of one queue. */
export const queueDepth = async (env: ChaosRuntime, queueUrl: string) => {
  const res = await env.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    })
  );
  const a = res.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages) +
    Number(a.ApproximateNumberOfMessagesNotVisible) +
    Number(a.ApproximateNumberOfMessagesDelayed)
  );
};

/** The queue URL (on the runtime's endpoint) of a queue of the stack, by ARN. */
export const queueUrlOf = (env: ChaosRuntime, arn: string) => {
  const queue = env.runtime.model.queues.find((q) => q.arn === arn);
  if (!queue) throw new Error(`no queue ${arn} in the stack`);
  return `${env.runtime.endpoint}/000000000000/${queue.name}`;
};

/** The DLQ (RedrivePolicy) of a queue of the stack, by its URL. */
export const dlqUrlOfQueue = (env: ChaosRuntime, queueUrl: string) => {
  const name = queueUrl.split('/').pop();
  const queue = env.runtime.model.queues.find((q) => q.name === name);
  if (!queue?.deadLetterTargetArn) throw new Error(`queue ${queueUrl} has no DLQ`);
  return queueUrlOf(env, queue.deadLetterTargetArn);
};

/** The delivery DLQ (RedrivePolicy) of the subscriptions on one topic. */
export const deliveryDlqUrlOf = (env: ChaosRuntime, topicArn: string) => {
  const arns = new Set(
    env.runtime.model.subscriptions
      .filter((s) => s.topicArn === topicArn && s.attributes.RedrivePolicy)
      .map((s) => JSON.parse(s.attributes.RedrivePolicy).deadLetterTargetArn as string)
  );
  if (arns.size !== 1)
    throw new Error(`expected one delivery DLQ on ${topicArn}, got ${arns.size}`);
  return queueUrlOf(env, [...arns][0]);
};

/** The sum of one EMF metric over every record the functions printed. */
export const emfSum = (env: ChaosRuntime, metric: string) => {
  let sum = 0;
  for (const { record } of env.runtime.metrics().records) {
    const v = (record as Record<string, unknown>)[metric];
    if (typeof v === 'number') sum += v;
    else if (Array.isArray(v)) sum += v.reduce((a: number, b) => a + Number(b), 0);
  }
  return sum;
};

/** The execution the starter names after the video. */
export const executionArnOf = (env: ChaosRuntime, videoId: string) =>
  `${env.out.StateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;

export interface HistoryEvent {
  type: string;
  [details: string]: unknown;
}

export const historyOf = async (env: ChaosRuntime, executionArn: string) => {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = (await env.runtime.stepFunctions.handle('GetExecutionHistory', {
      executionArn,
      ...(nextToken && { nextToken }),
    })) as { events: HistoryEvent[]; nextToken?: string };
    events.push(...page.events);
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
};

/** The error named by a *Failed history event, whatever its details key. */
export const failureErrorOf = (e: HistoryEvent) => {
  if (!e.type.endsWith('Failed')) return undefined;
  for (const [k, v] of Object.entries(e)) {
    if (k.endsWith('EventDetails') && v && typeof v === 'object' && 'error' in v)
      return String((v as { error: unknown }).error);
  }
  return undefined;
};

/** Executions of the workflow whose name is one of `videoIds`. */
export const executionsNamed = async (env: ChaosRuntime, videoIds: readonly string[]) => {
  const wanted = new Set(videoIds);
  const found: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = (await env.runtime.stepFunctions.handle('ListExecutions', {
      stateMachineArn: env.out.StateMachineArn,
      maxResults: 1000,
      ...(nextToken && { nextToken }),
    })) as { executions: { name: string; executionArn: string }[]; nextToken?: string };
    for (const e of page.executions) if (wanted.has(e.name)) found.push(e.name);
    nextToken = page.nextToken;
  } while (nextToken);
  return found;
};
