import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { isMissingApi } from './aws.js';
import { CliError } from './config.js';
import { type Out, say } from './watch.js';

/**
 * `redrive dlq <queue>`: which DLQ the user means (pure), the stack's DLQs
 * (from each queue's RedrivePolicy), and the message move task that empties one.
 */

export interface DeadLetterQueue {
  /** `StartWorkflowDeadLetterQueue`: the source's output name with `DeadLetterQueue`. */
  logicalName: string;
  url: string;
  arn: string;
  /** The queues whose RedrivePolicy names this DLQ (their ARNs). */
  sourceArns: string[];
}

const queueNameOf = (urlOrArn: string): string =>
  urlOrArn.includes('://') ? (urlOrArn.split('/').pop() ?? '') : (urlOrArn.split(':').pop() ?? '');

/**
 * Pure: the DLQ a user means. Accepts the logical name (`StartWorkflowDeadLetterQueue`,
 * or just the source's name, `StartWorkflow`), the queue's name, URL or ARN, case-insensitively
 * for names. Unknown: a CliError that lists what there is.
 */
export const resolveDeadLetterQueue = (
  wanted: string,
  dlqs: readonly DeadLetterQueue[]
): DeadLetterQueue => {
  const w = wanted.trim();
  const lower = w.toLowerCase();
  const found = dlqs.find(
    (d) =>
      d.url === w ||
      d.arn === w ||
      d.logicalName.toLowerCase() === lower ||
      d.logicalName.toLowerCase() === `${lower}deadletterqueue` ||
      queueNameOf(d.arn).toLowerCase() === lower ||
      (w.includes('://') || w.startsWith('arn:') ? queueNameOf(w) === queueNameOf(d.arn) : false)
  );
  if (found) return found;
  const known = dlqs.map((d) => `  ${d.logicalName}  ${d.url}`).join('\n');
  throw new CliError(
    `unknown dead-letter queue "${wanted}". The stack's DLQs (logical name, URL):\n${known || '  (none found)'}`
  );
};

/**
 * The stack's DLQs, found from the queues in the outputs file: each queue's
 * RedrivePolicy names its DLQ. (SNS subscription delivery DLQs are not SQS
 * redrive targets, so they are not listed: their messages go back through SNS.)
 */
export const discoverDeadLetterQueues = async (
  sqs: SQSClient,
  queueUrls: Record<string, string>
): Promise<DeadLetterQueue[]> => {
  const byArn = new Map<string, DeadLetterQueue>();
  const attrsOf = async (url: string) =>
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['QueueArn', 'RedrivePolicy'],
        })
      )
    ).Attributes ?? {};
  for (const [output, url] of Object.entries(queueUrls)) {
    if (/DeadLetterQueueUrl$/.test(output)) continue;
    const attrs = await attrsOf(url);
    const dlqArn = attrs.RedrivePolicy
      ? (JSON.parse(attrs.RedrivePolicy) as { deadLetterTargetArn?: string }).deadLetterTargetArn
      : undefined;
    if (!dlqArn || !attrs.QueueArn) continue;
    const known = byArn.get(dlqArn);
    if (known) {
      known.sourceArns.push(attrs.QueueArn);
      continue;
    }
    const base = output.replace(/QueueUrl$/, '');
    const declared = Object.entries(queueUrls).find(
      ([k, u]) => k === `${base}DeadLetterQueueUrl` || queueNameOf(u) === queueNameOf(dlqArn)
    );
    // A DLQ the outputs do not name lives next to its source: same endpoint and account path.
    const dlqUrl = declared?.[1] ?? `${url.slice(0, url.lastIndexOf('/'))}/${queueNameOf(dlqArn)}`;
    byArn.set(dlqArn, {
      logicalName: `${base}DeadLetterQueue`,
      url: dlqUrl,
      arn: dlqArn,
      sourceArns: [attrs.QueueArn],
    });
  }
  return [...byArn.values()];
};

export interface RedriveDlqOptions {
  /** Destination queue (URL or ARN); default: the DLQ's source queue. */
  to?: string;
  /** MaxNumberOfMessagesPerSecond. */
  rate?: number;
  intervalMs?: number;
  timeoutMs?: number;
  /** The target's name in messages (`local runtime`, `LocalStack`, `AWS`). */
  targetName: string;
}

export interface RedriveDlqResult {
  moved: number;
  status: string;
}

/**
 * Moves a DLQ's messages back with StartMessageMoveTask and follows the task with
 * ListMessageMoveTasks until it ends. The destination is given explicitly when
 * the DLQ has one source queue: AWS would infer it from each message's
 * `DeadLetterQueueSourceArn`, which messages that a consumer dead-lettered
 * itself (the poison path sends them to the DLQ) do not carry.
 */
export const runRedriveDlq = async (
  sqs: SQSClient,
  dlq: DeadLetterQueue,
  out: Out,
  opts: RedriveDlqOptions
): Promise<RedriveDlqResult> => {
  const destinationArn = opts.to
    ? opts.to.startsWith('arn:')
      ? opts.to
      : (
          await sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: opts.to, AttributeNames: ['QueueArn'] })
          )
        ).Attributes?.QueueArn
    : dlq.sourceArns.length === 1
      ? dlq.sourceArns[0]
      : undefined;
  const depth = Number(
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: dlq.url,
          AttributeNames: ['ApproximateNumberOfMessages'],
        })
      )
    ).Attributes?.ApproximateNumberOfMessages ?? 0
  );
  say(
    out,
    `${dlq.logicalName}: ${depth} message(s) to move to ${destinationArn ? queueNameOf(destinationArn) : 'their source queues'}`
  );
  if (depth === 0) return { moved: 0, status: 'NOTHING_TO_MOVE' };
  let handle: string | undefined;
  try {
    handle = (
      await sqs.send(
        new StartMessageMoveTaskCommand({
          SourceArn: dlq.arn,
          DestinationArn: destinationArn,
          MaxNumberOfMessagesPerSecond: opts.rate,
        })
      )
    ).TaskHandle;
  } catch (err) {
    if (isMissingApi(err)) {
      throw new CliError(
        `${opts.targetName} has no StartMessageMoveTask (${(err as Error).name}: ${(err as Error).message}); ` +
          'move the messages with the console or receive/send/delete them yourself'
      );
    }
    throw err;
  }
  say(out, `started message move task (StartMessageMoveTask) ${handle ?? ''}`);
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const res = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: dlq.arn, MaxResults: 1 })
    );
    const task = res.Results?.[0];
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    const toMove = task?.ApproximateNumberOfMessagesToMove ?? depth;
    const status = task?.Status ?? 'UNKNOWN';
    out.write(`  ${status}: ${moved} of ${toMove} moved\n`);
    if (status === 'FAILED') {
      throw new CliError(
        `message move task FAILED after ${moved} message(s): ${task?.FailureReason ?? 'no reason given'}`
      );
    }
    if (status === 'COMPLETED' || status === 'CANCELLED') return { moved, status };
    if (Date.now() > deadline) {
      throw new CliError(
        `message move task still ${status} after ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s (${moved} moved); it keeps running, follow it with ListMessageMoveTasks`
      );
    }
    await sleep(opts.intervalMs ?? 1000);
  }
};
