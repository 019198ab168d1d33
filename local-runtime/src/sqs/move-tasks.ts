import { randomUUID } from 'node:crypto';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from '../logger.js';

/**
 * SQS message move tasks (the API behind the console's "DLQ redrive"), which
 * fauxqs 2.4.1 lacks: StartMessageMoveTask, ListMessageMoveTasks and
 * CancelMessageMoveTask over the JSON protocol, with AWS's semantics as
 * documented:
 * - the source must be some queue's dead-letter queue (its RedrivePolicy names it);
 * - without a DestinationArn each message goes back to the queue it was
 *   dead-lettered from (its `DeadLetterQueueSourceArn`, else the one queue whose
 *   RedrivePolicy names the source; with several and no attribute the task fails);
 * - a task moves the messages that were in the queue when it started
 *   (`ApproximateNumberOfMessagesToMove`), one task per source at a time;
 * - body and message attributes travel unchanged; the copy is sent before the
 *   original is deleted, so a crash can duplicate a message but never lose one
 *   (AWS gives the same at-least-once guarantee).
 */

/** Serialized by the router as awsJson1_0 `{__type, message}` with HTTP 400. */
export class SqsError extends Error {
  constructor(
    readonly type: string,
    message: string
  ) {
    super(message);
    this.name = type;
  }
}

type TaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

interface MoveTask {
  handle: string;
  status: TaskStatus;
  sourceArn: string;
  destinationArn?: string;
  maxPerSecond?: number;
  moved: number;
  toMove: number;
  failureReason?: string;
  started: number;
}

const MOVE_OPS = ['StartMessageMoveTask', 'ListMessageMoveTasks', 'CancelMessageMoveTask'];
export const isMoveTaskOperation = (op: string): boolean => MOVE_OPS.includes(op);

const queueNameOf = (arn: string): string => arn.split(':').pop() ?? '';

export class MessageMoveTasks {
  private readonly tasks: MoveTask[] = [];
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly sqs: SQSClient,
    private readonly logger: Logger
  ) {}

  async handle(op: string, body: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case 'StartMessageMoveTask':
        return this.start(body);
      case 'ListMessageMoveTasks':
        return this.list(body);
      case 'CancelMessageMoveTask':
        return this.cancel(body);
      default:
        throw new SqsError('UnsupportedOperation', `Operation ${op} is not supported`);
    }
  }

  private async urlOf(arn: string): Promise<string> {
    try {
      const res = await this.sqs.send(new GetQueueUrlCommand({ QueueName: queueNameOf(arn) }));
      return res.QueueUrl ?? '';
    } catch {
      throw new SqsError('ResourceNotFoundException', `The specified queue does not exist: ${arn}`);
    }
  }

  /** The queues whose RedrivePolicy names `dlqArn` as their dead-letter target. */
  private async sourcesOf(dlqArn: string): Promise<string[]> {
    const urls = (await this.sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    const sources: string[] = [];
    for (const url of urls) {
      const attrs = (
        await this.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ['QueueArn', 'RedrivePolicy'],
          })
        )
      ).Attributes;
      const policy = attrs?.RedrivePolicy ? JSON.parse(attrs.RedrivePolicy) : undefined;
      if (policy?.deadLetterTargetArn === dlqArn && attrs?.QueueArn) sources.push(attrs.QueueArn);
    }
    return sources;
  }

  private async start(body: Record<string, unknown>) {
    const sourceArn = String(body.SourceArn ?? '');
    if (!sourceArn) throw new SqsError('InvalidParameterValue', 'SourceArn is required');
    const destinationArn = body.DestinationArn ? String(body.DestinationArn) : undefined;
    const maxPerSecond =
      body.MaxNumberOfMessagesPerSecond === undefined
        ? undefined
        : Number(body.MaxNumberOfMessagesPerSecond);
    if (maxPerSecond !== undefined && !(maxPerSecond >= 1 && maxPerSecond <= 500)) {
      throw new SqsError(
        'InvalidParameterValue',
        'MaxNumberOfMessagesPerSecond must be between 1 and 500'
      );
    }
    const sourceUrl = await this.urlOf(sourceArn);
    if (destinationArn) await this.urlOf(destinationArn);
    const sources = await this.sourcesOf(sourceArn);
    if (sources.length === 0) {
      throw new SqsError(
        'InvalidParameterValue',
        `Source queue must be configured as a Dead Letter Queue: no queue's RedrivePolicy names ${sourceArn}`
      );
    }
    if (this.tasks.some((t) => t.sourceArn === sourceArn && t.status === 'RUNNING')) {
      // AWS's and LocalStack's wording.
      throw new SqsError(
        'InvalidParameterValue',
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.'
      );
    }
    const attrs = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: sourceUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      })
    );
    const task: MoveTask = {
      handle: Buffer.from(JSON.stringify({ id: randomUUID(), sourceArn })).toString('base64'),
      status: 'RUNNING',
      sourceArn,
      destinationArn,
      maxPerSecond,
      moved: 0,
      toMove: Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0),
      started: Date.now(),
    };
    this.tasks.unshift(task);
    const run = this.run(task, sourceUrl, sources).catch((err: Error) => {
      task.status = 'FAILED';
      task.failureReason = err.message;
      this.logger.warn(`[sqs] move task on ${queueNameOf(sourceArn)} failed: ${err.message}`);
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return { TaskHandle: task.handle };
  }

  private destinationFor(task: MoveTask, message: Message, sources: string[]): string {
    if (task.destinationArn) return task.destinationArn;
    const from = message.Attributes?.DeadLetterQueueSourceArn;
    if (from) return from;
    if (sources.length === 1 && sources[0]) return sources[0];
    throw new Error(
      `message ${message.MessageId} has no DeadLetterQueueSourceArn and ${sources.length} queues ` +
        'use this dead-letter queue: give a DestinationArn'
    );
  }

  private async run(task: MoveTask, sourceUrl: string, sources: string[]) {
    const urls = new Map<string, string>();
    while (task.status === 'RUNNING' && task.moved < task.toMove && !this.stopped) {
      const batchStarted = Date.now();
      const want = Math.min(10, task.toMove - task.moved, task.maxPerSecond ?? 10);
      const res = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: sourceUrl,
          MaxNumberOfMessages: want,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 30,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['DeadLetterQueueSourceArn'],
        })
      );
      const messages = res.Messages ?? [];
      if (messages.length === 0) break;
      for (const m of messages) {
        const destination = this.destinationFor(task, m, sources);
        if (!urls.has(destination)) urls.set(destination, await this.urlOf(destination));
        await this.sqs.send(
          new SendMessageCommand({
            QueueUrl: urls.get(destination),
            MessageBody: m.Body ?? '',
            MessageAttributes: m.MessageAttributes,
          })
        );
        await this.sqs.send(
          new DeleteMessageCommand({ QueueUrl: sourceUrl, ReceiptHandle: m.ReceiptHandle })
        );
        task.moved++;
      }
      if (task.maxPerSecond !== undefined) {
        const wait = (messages.length / task.maxPerSecond) * 1000 - (Date.now() - batchStarted);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
    if (task.status === 'CANCELLING') task.status = 'CANCELLED';
    else if (task.status === 'RUNNING') task.status = 'COMPLETED';
    this.logger.info(
      `[sqs] move task on ${queueNameOf(task.sourceArn)}: ${task.status}, ${task.moved} moved`
    );
  }

  private list(body: Record<string, unknown>) {
    const sourceArn = String(body.SourceArn ?? '');
    if (!sourceArn) throw new SqsError('InvalidParameterValue', 'SourceArn is required');
    const max = Number(body.MaxResults) > 0 ? Math.min(Number(body.MaxResults), 10) : 1;
    return {
      Results: this.tasks
        .filter((t) => t.sourceArn === sourceArn)
        .slice(0, max)
        .map((t) => ({
          ...(t.status === 'RUNNING' ? { TaskHandle: t.handle } : {}),
          Status: t.status,
          SourceArn: t.sourceArn,
          ...(t.destinationArn ? { DestinationArn: t.destinationArn } : {}),
          ...(t.maxPerSecond ? { MaxNumberOfMessagesPerSecond: t.maxPerSecond } : {}),
          ApproximateNumberOfMessagesMoved: t.moved,
          ApproximateNumberOfMessagesToMove: t.toMove,
          ...(t.failureReason ? { FailureReason: t.failureReason } : {}),
          StartedTimestamp: t.started,
        })),
    };
  }

  private cancel(body: Record<string, unknown>) {
    const task = this.tasks.find((t) => t.handle === String(body.TaskHandle ?? ''));
    if (task?.status !== 'RUNNING') {
      throw new SqsError(
        'ResourceNotFoundException',
        'The specified task handle does not name a running message move task'
      );
    }
    task.status = 'CANCELLING';
    return { ApproximateNumberOfMessagesMoved: task.moved };
  }

  /** Lets running tasks finish their current message; called when the runtime stops. */
  async stop() {
    this.stopped = true;
    await Promise.all(this.running);
  }
}
