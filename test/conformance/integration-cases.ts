import { createHash, randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { ConformanceCase } from './cases.js';

/**
 * Service integrations and the callback pattern, as AWS documents them. Each case creates
 * the queue, topic, bucket or child machine it needs on the target through the SDK (one
 * per run) and deletes them after; `whileRunning` plays the worker of a callback.
 */

const DG = 'https://docs.aws.amazon.com/step-functions/latest/dg';

/** Where a case's resources live: the target's endpoint. */
export interface CaseTarget {
  endpoint: string;
  region: string;
  /** Functions deployed on the target that cases may invoke (none on LocalStack here). */
  functions?: { probe?: string };
}

export interface PreparedCase {
  definition: Record<string, unknown>;
  input?: unknown;
  /** Acts while the execution runs (e.g. answers its task token). */
  whileRunning?: (executionArn: string) => Promise<void>;
  cleanup(): Promise<void>;
}

export interface IntegrationCase extends Omit<ConformanceCase, 'definition'> {
  prepare(target: CaseTarget): Promise<PreparedCase>;
}

function clients(t: CaseTarget) {
  const cfg = {
    endpoint: t.endpoint,
    region: t.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  return {
    s3: new S3Client({ ...cfg, forcePathStyle: true }),
    sqs: new SQSClient(cfg),
    sns: new SNSClient(cfg),
    sfn: new SFNClient(cfg),
    destroy() {
      for (const c of [this.s3, this.sqs, this.sns, this.sfn]) c.destroy();
    },
  };
}

const suffix = () => randomBytes(4).toString('hex');
const task = (Resource: string, Parameters: Record<string, unknown>, rest = {}) => ({
  Type: 'Task',
  Resource,
  Parameters,
  End: true,
  ...rest,
});

async function withQueue(t: CaseTarget) {
  const c = clients(t);
  const { QueueUrl } = await c.sqs.send(new CreateQueueCommand({ QueueName: `conf-${suffix()}` }));
  return {
    c,
    QueueUrl: QueueUrl!,
    async cleanup() {
      await c.sqs.send(new DeleteQueueCommand({ QueueUrl }));
      c.destroy();
    },
  };
}

export async function withBucket(t: CaseTarget, keys: string[]) {
  const c = clients(t);
  const Bucket = `conf-${suffix()}`;
  await c.s3.send(new CreateBucketCommand({ Bucket }));
  return {
    c,
    Bucket,
    async cleanup() {
      for (const Key of keys) await c.s3.send(new DeleteObjectCommand({ Bucket, Key }));
      await c.s3.send(new DeleteBucketCommand({ Bucket }));
      c.destroy();
    },
  };
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function expectThat(ok: boolean, what: string) {
  if (!ok) throw new Error(what);
}

export const INTEGRATION_CASES: IntegrationCase[] = [
  {
    id: 'sqs-send-message',
    // The Task answers SendMessage's result: MessageId and MD5OfMessageBody of the body sent.
    source: `${DG}/connect-sqs.html`,
    input: {},
    status: 'SUCCEEDED',
    async prepare(t) {
      const q = await withQueue(t);
      return {
        definition: {
          StartAt: 'Send',
          States: {
            Send: task('arn:aws:states:::sqs:sendMessage', {
              QueueUrl: q.QueueUrl,
              MessageBody: 'Hello from Step Functions',
            }),
          },
        },
        cleanup: q.cleanup,
      };
    },
    check: (output) => {
      const o = output as { MessageId?: string; MD5OfMessageBody?: string };
      expectThat(typeof o.MessageId === 'string', `no MessageId in ${JSON.stringify(o)}`);
      expectThat(
        o.MD5OfMessageBody === md5('Hello from Step Functions'),
        `MD5OfMessageBody ${o.MD5OfMessageBody}`
      );
    },
    history: ['TaskScheduled', 'TaskStarted', 'TaskSucceeded'],
  },
  {
    id: 'sns-publish',
    // The Task answers Publish's result, a MessageId.
    source: `${DG}/connect-sns.html`,
    input: { message: 'hi' },
    status: 'SUCCEEDED',
    async prepare(t) {
      const c = clients(t);
      const { TopicArn } = await c.sns.send(new CreateTopicCommand({ Name: `conf-${suffix()}` }));
      return {
        definition: {
          StartAt: 'Publish',
          States: {
            Publish: task('arn:aws:states:::sns:publish', { TopicArn, 'Message.$': '$.message' }),
          },
        },
        async cleanup() {
          await c.sns.send(new DeleteTopicCommand({ TopicArn }));
          c.destroy();
        },
      };
    },
    check: (output) =>
      expectThat(
        typeof (output as { MessageId?: unknown }).MessageId === 'string',
        `no MessageId in ${JSON.stringify(output)}`
      ),
  },
  {
    id: 'aws-sdk-s3-put-get-list',
    // AWS SDK integrations answer the API's response in PascalCase; GetObject's Body as text.
    source: `${DG}/supported-services-awssdk.html`,
    input: {},
    status: 'SUCCEEDED',
    async prepare(t) {
      const b = await withBucket(t, ['conf/a.txt']);
      const at = (action: string) => `arn:aws:states:::aws-sdk:s3:${action}`;
      return {
        definition: {
          StartAt: 'Put',
          States: {
            Put: task(
              at('putObject'),
              { Bucket: b.Bucket, Key: 'conf/a.txt', Body: 'hello' },
              { End: undefined, Next: 'Get', ResultPath: null }
            ),
            Get: task(
              at('getObject'),
              { Bucket: b.Bucket, Key: 'conf/a.txt' },
              {
                End: undefined,
                Next: 'List',
                ResultSelector: { 'Body.$': '$.Body' },
                ResultPath: '$.get',
              }
            ),
            List: task(
              at('listObjectsV2'),
              { Bucket: b.Bucket, Prefix: 'conf/' },
              {
                ResultSelector: { 'KeyCount.$': '$.KeyCount', 'Key.$': '$.Contents[0].Key' },
                ResultPath: '$.list',
              }
            ),
          },
        },
        cleanup: b.cleanup,
      };
    },
    // Step Functions writes a putObject Body as JSON text: the string keeps its quotes.
    output: { get: { Body: '"hello"' }, list: { KeyCount: 1, Key: 'conf/a.txt' } },
  },
  {
    id: 'aws-sdk-s3-get-missing-key',
    // SDK integration errors are ServiceName.ErrorName with an Exception suffix:
    // S3's NoSuchKey is S3.NoSuchKeyException. The cause is S3's message (with a request id).
    source: `${DG}/supported-services-awssdk.html`,
    input: {},
    status: 'SUCCEEDED',
    async prepare(t) {
      const b = await withBucket(t, []);
      return {
        definition: {
          StartAt: 'Get',
          States: {
            Get: task(
              'arn:aws:states:::aws-sdk:s3:getObject',
              { Bucket: b.Bucket, Key: 'missing' },
              {
                Catch: [{ ErrorEquals: ['S3.NoSuchKeyException'], Next: 'Caught' }],
                End: true,
              }
            ),
            Caught: { Type: 'Pass', Parameters: { 'error.$': '$.Error' }, End: true },
          },
        },
        cleanup: b.cleanup,
      };
    },
    output: { error: 'S3.NoSuchKeyException' },
  },
  {
    id: 'states-start-execution-sync-2',
    // .sync:2 waits for the child and answers DescribeExecution with Output as parsed JSON.
    source: `${DG}/connect-stepfunctions.html`,
    input: { x: 21 },
    status: 'SUCCEEDED',
    async prepare(t) {
      const c = clients(t);
      const { stateMachineArn } = await c.sfn.send(
        new CreateStateMachineCommand({
          name: `conf-child-${suffix()}`,
          roleArn: 'arn:aws:iam::000000000000:role/conformance',
          definition: JSON.stringify({
            StartAt: 'Double',
            States: {
              Double: {
                Type: 'Pass',
                Parameters: { 'y.$': 'States.MathAdd($.x, $.x)' },
                End: true,
              },
            },
          }),
        })
      );
      return {
        definition: {
          StartAt: 'Start',
          States: {
            Start: task(
              'arn:aws:states:::states:startExecution.sync:2',
              { StateMachineArn: stateMachineArn, Input: { 'x.$': '$.x' } },
              {
                ResultSelector: { 'Output.$': '$.Output', 'Status.$': '$.Status' },
              }
            ),
          },
        },
        async cleanup() {
          await c.sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
          c.destroy();
        },
      };
    },
    output: { Output: { y: 42 }, Status: 'SUCCEEDED' },
  },
  {
    id: 'sqs-wait-for-task-token',
    // .waitForTaskToken: the Task waits until SendTaskSuccess with $$.Task.Token, and
    // answers the output sent; history shows TaskSubmitted then TaskSucceeded.
    source: `${DG}/connect-to-resource.html#connect-wait-token`,
    input: { order: 7 },
    status: 'SUCCEEDED',
    async prepare(t) {
      const q = await withQueue(t);
      return {
        definition: {
          StartAt: 'Wait',
          States: {
            Wait: task('arn:aws:states:::sqs:sendMessage.waitForTaskToken', {
              QueueUrl: q.QueueUrl,
              MessageBody: { 'token.$': '$$.Task.Token', 'order.$': '$.order' },
            }),
          },
        },
        async whileRunning() {
          const deadline = Date.now() + 30_000;
          while (Date.now() < deadline) {
            const r = await q.c.sqs.send(
              new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, WaitTimeSeconds: 1 })
            );
            const m = r.Messages?.[0];
            if (!m) continue;
            const body = JSON.parse(m.Body!) as { token: string; order: number };
            await q.c.sfn.send(
              new SendTaskSuccessCommand({
                taskToken: body.token,
                output: JSON.stringify({ shipped: body.order }),
              })
            );
            return;
          }
          throw new Error('no callback message within 30 s');
        },
        cleanup: q.cleanup,
      };
    },
    output: { shipped: 7 },
    history: ['TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded'],
  },
];
