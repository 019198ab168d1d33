import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type LocalRuntime, type Logger, silentLogger, startLocalRuntime } from '../src/index.js';

export const silent = silentLogger;

import { synthFixture } from './fixtures/app.js';

export interface Fixture {
  rt: LocalRuntime;
  dir: string;
  stateDir: string;
  logs: string[];
  s3: S3Client;
  sqs: SQSClient;
  sns: SNSClient;
  sfn: SFNClient;
  lambda: LambdaClient;
  close(): Promise<void>;
}

/** Collects log lines so tests can assert on them; prints them with LOCAL_RUNTIME_DEBUG=1. */
export function captureLogger(lines: string[]): Logger {
  const push = (m: string) => {
    lines.push(m);
    if (process.env.LOCAL_RUNTIME_DEBUG) console.log(m);
  };
  return { info: push, warn: push, error: push, debug: push };
}

/** Synthesizes the fixture app into a fresh temp dir and runs it on a random port. */
export async function startFixture(): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'local-runtime-test-'));
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir);
  synthFixture(path.join(dir, 'cdk.out'), stateDir);
  const logs: string[] = [];
  const rt = await startLocalRuntime({
    assemblyDir: path.join(dir, 'cdk.out'),
    port: 0,
    logger: captureLogger(logs),
  });
  const cfg = {
    endpoint: rt.endpoint,
    region: rt.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const clients = {
    s3: new S3Client({ ...cfg, forcePathStyle: true }),
    sqs: new SQSClient(cfg),
    sns: new SNSClient(cfg),
    sfn: new SFNClient(cfg),
    // No SDK retries: tests assert on throttling as Lambda reports it.
    lambda: new LambdaClient({ ...cfg, maxAttempts: 1 }),
  };
  return {
    rt,
    dir,
    stateDir,
    logs,
    ...clients,
    async close() {
      await rt.stop();
      for (const c of Object.values(clients)) c.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 15_000, intervalMs = 100 } = {}
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
