import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import {
  CliError,
  discoverDeadLetterQueues,
  executionsOf,
  resolveDeadLetterQueue,
  runRedriveDlq,
  runRedriveVideo,
} from '../../cli/src/index.js';
import type { Target } from './data.js';
import { NotFoundError } from './errors.js';
import { checkVideoId } from './keys.js';

/**
 * The console's operator actions: peek at a DLQ, redrive a DLQ or a video, stop
 * a running execution. The redrives call the CLI's own functions (`npm run
 * redrive -- dlq|video`), so the page and the terminal take the same path and
 * print the same lines. Every caller is a POST the server has Host/Origin- and
 * token-checked first.
 */

/** A peek returns at most this many messages (ReceiveMessage's own maximum is 10). */
export const PEEK_MAX = 10;
/** Bodies are cut here: a DLQ message can be 256 KiB, the panel shows what it is. */
export const PEEK_BODY_CHARS = 4096;

/** Lines the CLI functions print, kept for the page. */
const collect = () => {
  const lines: string[] = [];
  return {
    out: { write: (s: string) => lines.push(...s.split('\n').filter(Boolean)) },
    lines,
  };
};

/** As the CLI names the target in its messages (cli/src/main.ts targetNameOf). */
const targetName = (t: Target): string =>
  t.clients.endpoint ? `the target at ${t.clients.endpoint}` : 'AWS';

/** A DLQ by the name the Queues panel shows (its output name without `Url`); never a URL from the page. */
const deadLetterUrl = (t: Target, name: string): string => {
  const url = t.queues[`${name}Url`];
  if (!url || !/DeadLetterQueue$/.test(name)) {
    const known = Object.keys(t.queues)
      .filter((k) => /DeadLetterQueueUrl$/.test(k))
      .map((k) => k.replace(/Url$/, ''));
    throw new NotFoundError(
      `no such dead-letter queue: ${name} (the stack's: ${known.join(', ')})`
    );
  }
  return url;
};

export interface PeekedMessage {
  messageId: string;
  sentAt?: string;
  receiveCount: number;
  body: string;
  truncated: boolean;
  attributes: Record<string, string>;
}

/**
 * Reads up to PEEK_MAX messages without taking them: VisibilityTimeout 0 makes each
 * message visible again at once, so it stays in the queue for a redrive (and is counted
 * as received once more: ApproximateReceiveCount grows with each peek).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
 */
export const peekDeadLetterQueue = async (
  t: Target,
  name: string,
  max = PEEK_MAX
): Promise<{ queue: string; messages: PeekedMessage[] }> => {
  const url = deadLetterUrl(t, name);
  const res = await t.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: Math.min(Math.max(1, max), PEEK_MAX),
      VisibilityTimeout: 0,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    })
  );
  const messages = (res.Messages ?? []).map((m) => {
    const body = m.Body ?? '';
    const sent = Number(m.Attributes?.SentTimestamp);
    return {
      messageId: m.MessageId ?? '',
      ...(Number.isFinite(sent) ? { sentAt: new Date(sent).toISOString() } : {}),
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
      body: body.slice(0, PEEK_BODY_CHARS),
      truncated: body.length > PEEK_BODY_CHARS,
      attributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
          k,
          v.StringValue ?? `(${v.DataType ?? 'binary'})`,
        ])
      ),
    };
  });
  return { queue: name, messages };
};

/** The DLQs `redrive dlq` can move (those a source queue's RedrivePolicy names), by logical name. */
export const redrivableDeadLetterQueues = async (t: Target): Promise<Set<string>> => {
  const dlqs = await discoverDeadLetterQueues(t.sqs, t.outputs.queueUrls ?? t.queues);
  return new Set(dlqs.map((d) => d.logicalName));
};

/** `npm run redrive -- dlq <name>`: the same discovery, resolution and move task. */
export const redriveDeadLetterQueue = async (t: Target, name: string) => {
  deadLetterUrl(t, name);
  const dlqs = await discoverDeadLetterQueues(t.sqs, t.outputs.queueUrls ?? t.queues);
  const dlq = resolveDeadLetterQueue(name, dlqs);
  const { out, lines } = collect();
  const result = await runRedriveDlq(t.sqs, dlq, out, {
    targetName: targetName(t),
    // The request waits for the task; past this the CLI's own message says it keeps running.
    timeoutMs: 60_000,
  });
  return { queue: name, ...result, log: lines };
};

/** `npm run redrive -- video <id> --no-wait`: the page follows the new run itself. */
export const redriveVideo = async (t: Target, videoId: string) => {
  checkVideoId(videoId);
  const { out, lines } = collect();
  const result = await runRedriveVideo(
    t.clients,
    {
      outputBucket: t.outputs.outputBucket,
      stateMachineArn: t.outputs.stateMachineArn,
      targetName: targetName(t),
    },
    videoId,
    out
  );
  return { videoId, ...result, log: lines };
};

/**
 * Stops the video's running execution (the original or a redrive). Step Functions
 * ends it ABORTED; the verdict keeper then writes its FAILED verdict with that ending.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html
 */
export const stopVideo = async (t: Target, videoId: string) => {
  checkVideoId(videoId);
  const running = (await executionsOf(t.clients, t.outputs.stateMachineArn, videoId)).find(
    (e) => e.status === 'RUNNING'
  );
  if (!running) throw new CliError(`video ${videoId} has no running execution to stop`);
  await t.clients.sfn.send(
    new StopExecutionCommand({
      executionArn: running.arn,
      error: 'StoppedFromConsole',
      cause: `stopped from the video pipeline console (${videoId})`,
    })
  );
  return { videoId, stopped: running.name };
};
