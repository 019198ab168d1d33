import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type LocalRuntime,
  type LocalRuntimeOptions,
  type Logger,
  silentLogger,
  startLocalRuntime,
} from '../src/index.js';

export const silent = silentLogger;

import { poll } from '../../test/helpers/poll.js';
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
export async function startFixture(options: Partial<LocalRuntimeOptions> = {}): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'local-runtime-test-'));
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir);
  synthFixture(path.join(dir, 'cdk.out'), stateDir);
  const logs: string[] = [];
  const rt = await startLocalRuntime({
    assemblyDir: path.join(dir, 'cdk.out'),
    port: 0,
    logger: captureLogger(logs),
    ...options,
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

/** Polls `predicate` until it returns something other than undefined/false: the suite's `poll` (test/helpers/poll.ts) with this file's defaults. */
export async function waitFor<T>(
  predicate: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition' } = {}
): Promise<T> {
  return poll(what, predicate, timeoutMs, { intervalMs });
}

const here = path.dirname(new URL(import.meta.url).pathname);

export interface RuntimeProcess {
  pid: number;
  endpoint: string;
  outputs: Record<string, string>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs the runtime's CLI as its own process (one node process: tsx as an import
 * hook), for what must be observed from outside: memory, listening sockets.
 */
export async function startRuntimeProcess(
  assemblyDir: string,
  env: Record<string, string> = {},
  /** Node options for the runtime's process alone (e.g. --cpu-prof), not its Lambda workers. */
  nodeArgs: readonly string[] = []
): Promise<RuntimeProcess> {
  const outputsFile = path.join(mkdtempSync(path.join(tmpdir(), 'local-runtime-out-')), 'o.json');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...nodeArgs,
      '--import',
      'tsx',
      path.join(here, '..', 'src', 'cli.ts'),
      '--assembly',
      assemblyDir,
      '--port',
      '0',
      '--outputs-file',
      outputsFile,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(path.dirname(outputsFile), { recursive: true, force: true });
  };
  try {
    const endpoint = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`runtime exited early:\n${out}`);
        return /AWS_ENDPOINT_URL=(\S+)/.exec(out)?.[1];
      },
      { timeoutMs: 60_000, what: 'runtime start' }
    );
    const outputs = Object.values(JSON.parse(readFileSync(outputsFile, 'utf8')))[0] as Record<
      string,
      string
    >;
    return { pid: child.pid as number, endpoint, outputs, output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Resident set (VmRSS) and its high-water mark (VmHWM) of a process, in MiB. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) / 1024;
  };
  return { rssMiB: kib('VmRSS'), peakMiB: kib('VmHWM') };
}

/** Messages a queue holds: visible, in flight (received, not deleted) and delayed. */
export async function queueCounts(sqs: SQSClient, queueUrl: string) {
  const { Attributes: a = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    })
  );
  return {
    visible: Number(a.ApproximateNumberOfMessages),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed),
  };
}

/** Waits until the queue holds nothing at all: every message was deleted (or moved to its DLQ). */
export const waitForEmptyQueue = (sqs: SQSClient, queueUrl: string, timeoutMs = 15_000) =>
  waitFor(
    async () => {
      const c = await queueCounts(sqs, queueUrl);
      return c.visible + c.inFlight + c.delayed === 0;
    },
    { timeoutMs, what: `queue ${queueUrl} empty` }
  );

/** Receives until `count` messages arrived, then checks that no further one is visible. */
export async function receiveExactly(sqs: SQSClient, queueUrl: string, count: number) {
  const out: Message[] = [];
  await waitFor(
    async () => {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        })
      );
      out.push(...(r.Messages ?? []));
      return out.length >= count;
    },
    { what: `${count} message(s) on ${queueUrl}` }
  );
  const extra = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 })
  );
  return [...out, ...(extra.Messages ?? [])];
}

/**
 * A hand-written cloud assembly in a fresh temp dir: a manifest naming one stack and
 * its template of `resources`, read by the runtime as it reads `cdk synth`'s output
 * (the runtime's checks must not depend on CDK). The caller removes the dir.
 */
export function writeAssembly(prefix: string, resources: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), `local-runtime-${prefix}-`));
  const manifest = {
    version: '55.0.0',
    artifacts: {
      Stack: {
        type: 'aws:cloudformation:stack',
        properties: { templateFile: 'Stack.template.json' },
      },
    },
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(path.join(dir, 'Stack.template.json'), JSON.stringify({ Resources: resources }));
  return dir;
}

/** State machine resources, one per named definition. */
export const stateMachineResources = (
  definitions: Record<string, unknown>
): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(definitions).map(([name, definition]) => [
      name,
      {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: { StateMachineName: name, DefinitionString: JSON.stringify(definition) },
      },
    ])
  );

/** A runtime on a hand-written assembly, with S3 and Step Functions clients. */
export interface AssemblyRuntime {
  rt: LocalRuntime;
  s3: S3Client;
  sfn: SFNClient;
  /** Destroys the clients, stops the runtime and removes the assembly dir. */
  close(): Promise<void>;
}

export async function startOnAssembly(dir: string): Promise<AssemblyRuntime> {
  const rt = await startLocalRuntime({ assemblyDir: dir, port: 0, logger: silentLogger });
  const cfg = {
    endpoint: rt.endpoint,
    region: rt.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = new S3Client({ ...cfg, forcePathStyle: true });
  const sfn = new SFNClient(cfg);
  return {
    rt,
    s3,
    sfn,
    close: async () => {
      s3.destroy();
      sfn.destroy();
      await rt.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
