import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  OVERFLOW_ATTRIBUTES,
  SPILL_INPUT_PATTERN,
  SPILL_PREFIX,
  type SpillObject,
  SpillObjectSchema,
} from '../../contract/index.js';
import { CliError } from './config.js';
import { type Out, say } from './watch.js';

/**
 * `redrive spill <bucket>`: sends the batches an overflow policy spilled to a bucket
 * (`OverflowPolicy.spillToBucket`, contract/overflow.ts) back into their input queue,
 * one object at a time, and deletes each object once all its messages were sent.
 * At least once, like an SQS redrive: an object whose delete fails after the sends is
 * sent again by the next run, and the consumers are idempotent.
 */

const queueNameOf = (url: string): string => url.split('/').pop() ?? '';

export interface RedriveSpillOptions {
  bucket: string;
  /** Only this input's objects (its `inputName`). @default every input */
  input?: string;
  /**
   * The stack's queue URLs (outputs file): an object's queue must be one of them,
   * matched by name, and is sent to at this URL (the endpoint the CLI uses).
   */
  queueUrls: Record<string, string>;
  /** Send everything here instead of each object's own queue. */
  to?: string;
}

export interface RedriveSpillResult {
  objects: number;
  messages: number;
}

/** Pure: the SQS message attributes a spilled record is sent back with. */
export const redrivenAttributes = (
  record: SpillObject['records'][number],
  input: string
): Record<string, MessageAttributeValue> => {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, v] of Object.entries(record.messageAttributes)) {
    if (v.stringValue !== undefined) {
      attributes[name] = { DataType: v.dataType, StringValue: v.stringValue };
    } else if (v.binaryValue !== undefined) {
      attributes[name] = {
        DataType: v.dataType,
        BinaryValue: Buffer.from(v.binaryValue, 'base64'),
      };
    }
  }
  // Marks the message as redriven: the input's policy then processes it whatever its age.
  attributes[OVERFLOW_ATTRIBUTES.spilledFrom] = { DataType: 'String', StringValue: input };
  return attributes;
};

/**
 * Pure: where an object's messages go. Only a queue of this stack (by name), so a
 * bucket object cannot send messages anywhere else.
 */
export const redriveDestination = (
  object: Pick<SpillObject, 'queueUrl'>,
  queueUrls: Record<string, string>,
  to?: string
): string => {
  if (to) return to;
  const name = queueNameOf(object.queueUrl);
  const found = Object.values(queueUrls).find((u) => queueNameOf(u) === name);
  if (!found) {
    throw new CliError(
      `spilled messages name the queue ${name}, which is not one of the stack's queues; pass --to <queue URL> to choose one`
    );
  }
  return found;
};

export const runRedriveSpill = async (
  clients: { s3: S3Client; sqs: SQSClient },
  out: Out,
  opts: RedriveSpillOptions
): Promise<RedriveSpillResult> => {
  if (opts.input !== undefined && !SPILL_INPUT_PATTERN.test(opts.input)) {
    throw new CliError(`--input "${opts.input}" is not an input name (${SPILL_INPUT_PATTERN})`);
  }
  const prefix = `${SPILL_PREFIX}${opts.input !== undefined ? `${opts.input}/` : ''}`;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await clients.s3.send(
      new ListObjectsV2Command({ Bucket: opts.bucket, Prefix: prefix, ContinuationToken: token })
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key!).filter(Boolean));
    token = page.NextContinuationToken;
  } while (token);
  say(out, `s3://${opts.bucket}/${prefix}: ${keys.length} spilled batch(es)`);
  let messages = 0;
  for (const key of keys) {
    const res = await clients.s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: key }));
    const parsed = SpillObjectSchema.safeParse(JSON.parse(await res.Body!.transformToString()));
    if (!parsed.success) {
      throw new CliError(
        `s3://${opts.bucket}/${key} is not a spilled batch: ${parsed.error.message}`
      );
    }
    const object = parsed.data;
    const queueUrl = redriveDestination(object, opts.queueUrls, opts.to);
    for (let i = 0; i < object.records.length; i += 10) {
      const chunk = object.records.slice(i, i + 10);
      const sent = await clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((r, j) => ({
            Id: String(j),
            MessageBody: r.body,
            MessageAttributes: redrivenAttributes(r, object.input),
          })),
        })
      );
      if (sent.Failed?.length) {
        // The object stays: a later run sends it again (at least once).
        throw new CliError(
          `SendMessageBatch to ${queueNameOf(queueUrl)} failed for ${sent.Failed.length} message(s) of s3://${opts.bucket}/${key}: ${sent.Failed[0]?.Code} ${sent.Failed[0]?.Message ?? ''}`
        );
      }
    }
    await clients.s3.send(new DeleteObjectCommand({ Bucket: opts.bucket, Key: key }));
    messages += object.records.length;
    out.write(`  ${key}: ${object.records.length} message(s) → ${queueNameOf(queueUrl)}\n`);
  }
  return { objects: keys.length, messages };
};
