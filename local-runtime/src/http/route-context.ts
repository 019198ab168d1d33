/** What the router's route modules share: their dependencies, one context object, and the answer helpers. */
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalHttpPolicy } from '../../../shared/local-http-guard.js';
import type { Faults } from '../faults.js';
import type { LambdaRunner } from '../lambda/runner.js';
import type { Logger } from '../logger.js';
import type { S3Notifier } from '../s3-notifier.js';
import type { OpenedObject } from '../s3-persistence.js';
import type { StepFunctionsService } from '../sfn/service.js';
import type { MessageMoveTasks } from '../sqs/move-tasks.js';
import type { KeyLocks } from './conditional-write.js';

export interface RouterDeps {
  /** The Host/Origin policy every request passes first (guard.ts, docs/security.md). */
  guard: LocalHttpPolicy;
  fauxqsPort: number;
  /** The S3 store's bodies: plain object GETs are streamed from them (see object-reader.ts). */
  s3Objects?: { openObject(bucket: string, key: string): OpenedObject | undefined };
  sfn: StepFunctionsService;
  /** SQS message move tasks, which fauxqs lacks (JSON protocol only); proxied when absent. */
  moveTasks?: MessageMoveTasks;
  lambda: LambdaRunner;
  notifier: S3Notifier;
  logger: Logger;
  info(): unknown;
  /** Fault injection (S3 SlowDown); none when absent. */
  faults?: Faults;
  /** The admin API under /_local/ (chaos tests): the runtime's own operations. */
  admin?: AdminOperations;
}

export interface AdminOperations {
  stats(): unknown;
  /** The EMF records the functions printed (the CLI's `metrics` command). */
  metrics?(): unknown;
  /** The traced log lines of one trace or video (the CLI's `status --trace`). */
  logs?(query: { traceId?: string; videoId?: string }): unknown;
  setEventSourceMappingEnabled(functionName: string, enabled: boolean): Promise<unknown>;
  /** This process's memory and its Lambda environments' pids (soak tests). */
  memory?(): unknown;
  /** Runs a full GC when node was started with --expose-gc; false otherwise. */
  gc?(): boolean;
}

/** What every route shares: the runtime's parts, one keep-alive agent to fauxqs, the key locks. */
export interface RouteContext {
  readonly deps: RouterDeps;
  /** Keep-alive connections to fauxqs, shared by the proxy and the S3 checks. */
  readonly agent: http.Agent;
  /** Per-key locks of conditional writes (fauxqs ignores their headers). */
  readonly locks: KeyLocks;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendS3Error(res: ServerResponse, status: number, code: string, message: string) {
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>${message}</Message></Error>`;
  // The body is not read: closing tells the client to stop sending it.
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(xml),
    connection: 'close',
  });
  res.end(xml);
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
