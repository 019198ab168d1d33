import { type ChildProcess, spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../local-runtime/src/index.js';
import { synthSoakApp } from './fixtures/soak-app.js';
import { poll } from './harness.js';

/**
 * A compressed soak: 2,600 small uploads through the event path (S3 event →
 * SNS → SQS → Lambda) of a stack built from the product's constructs, in waves
 * of 100 (each uploaded, processed, then deleted, so the stored state returns
 * to where it was). The runtime runs in its own process, started with
 * --expose-gc so both measurements follow a full collection: without it, RSS
 * mostly measures when V8 last collected. After a 1,600-message warm-up, the
 * runtime's RSS and JS heap must end within 10% of the warmed-up values.
 */
const TOTAL = 2_600;
const WAVE = 100;
/**
 * Measured on 2 cores, busy and quiet: RSS climbs (in one step of ~20 MiB on a quiet
 * machine) during the first ~1,400 messages while the JS heap and external memory stay
 * flat (the native allocator reaching its working set), then plateaus. The baseline is
 * taken past that; the measured 1,000 messages would show a leak of 25 KiB per message
 * in RSS, or of 3 KiB per message in the heap.
 */
const WARM_UP = 1_600;

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  lambdaPids: number[];
}

/** VmRSS of a process in bytes, from /proc (Linux); undefined elsewhere or once it is gone. */
const rssOf = (pid: number) => {
  const path = `/proc/${pid}/status`;
  if (!existsSync(path)) return undefined;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(path, 'utf8'));
  return m ? Number(m[1]) * 1024 : undefined;
};
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

describe('soak: 2,600 uploads through S3 → SNS → SQS → Lambda', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let endpoint: string;
  let outputs: Record<string, string>;
  let s3: S3Client;
  let sqs: SQSClient;
  let countFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-soak-'));
    countFile = join(dir, 'consumed.log');
    const assembly = synthSoakApp(join(dir, 'cdk.out'), countFile);
    const outputsFile = join(dir, 'outputs.json');
    mkdirSync(join(ROOT, '.e2e'), { recursive: true });
    const log = createWriteStream(join(ROOT, '.e2e', 'chaos-soak.log'));
    // The runtime's CLI in its own Node (this one: the project's Node 24), GC exposed.
    child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        join(ROOT, 'local-runtime', 'src', 'cli.ts'),
        '--assembly',
        assembly,
        '--port',
        '0',
        '--outputs-file',
        outputsFile,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }
    );
    child.stderr?.pipe(log);
    endpoint = await new Promise<string>((resolve, reject) => {
      let seen = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        log.write(chunk);
        seen += chunk.toString('utf8');
        const m = /AWS_ENDPOINT_URL=(\S+)/.exec(seen);
        if (m) resolve(m[1]);
      });
      child!.once('exit', (code) =>
        reject(new Error(`the runtime exited (${code}) before starting`))
      );
    });
    outputs = Object.values(JSON.parse(readFileSync(outputsFile, 'utf8')))[0] as Record<
      string,
      string
    >;
    const config = {
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    s3 = new S3Client({ ...config, forcePathStyle: true });
    sqs = new SQSClient(config);
  });

  afterAll(async () => {
    s3?.destroy();
    sqs?.destroy();
    if (child?.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const admin = async <T>(path: string, method = 'GET') => {
    const res = await fetch(`${endpoint}/_local/${path}`, { method });
    if (!res.ok) throw new Error(`${method} /_local/${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const consumed = () =>
    existsSync(countFile)
      ? readFileSync(countFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .reduce((a, n) => a + Number(n), 0)
      : 0;
  const depth = async (queueUrl: string) => {
    const res = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      })
    );
    return (
      Number(res.Attributes?.ApproximateNumberOfMessages) +
      Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  };
  /** Full GC in the runtime, then its memory and its Lambda environments' RSS. */
  const measure = async () => {
    const memory = await admin<Memory>('gc', 'POST');
    const envs = memory.lambdaPids.map(rssOf).filter((r): r is number => r !== undefined);
    return { ...memory, envRss: envs.reduce((a, b) => a + b, 0), envs: envs.length };
  };
  let sent = 0;
  const wave = async () => {
    const keys = Array.from({ length: WAVE }, (_, i) => `soak/${sent + i}.txt`);
    await Promise.all(
      keys.map((Key) =>
        s3.send(new PutObjectCommand({ Bucket: outputs.BucketName, Key, Body: `soak ${Key}` }))
      )
    );
    sent += WAVE;
    await poll(
      `${sent} messages consumed`,
      async () => (consumed() >= sent ? true : undefined),
      120_000
    );
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: outputs.BucketName,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      })
    );
  };

  it('processes every message and returns to within 10% of its warmed-up RSS', async () => {
    // Prepare: warm up (pools, JIT, SDK clients, buffers), then measure.
    const started = performance.now();
    while (sent < WARM_UP) await wave();
    const before = await measure();
    const trajectory = [before];
    // Act
    while (sent < TOTAL) {
      await wave();
      if (sent % 200 === 0) trajectory.push(await measure());
    }
    await poll(
      'the queue to drain',
      async () => ((await depth(outputs.QueueUrl)) === 0 ? true : undefined),
      60_000
    );
    const after = await measure();
    console.log(
      `[soak] every 200 messages after warm-up: ${trajectory
        .map(
          (m) =>
            `rss ${mib(m.rss)} heap ${mib(m.heapUsed)} ext ${mib(m.external)} ab ${mib(m.arrayBuffers)} env ${mib(m.envRss)}`
        )
        .join(' | ')}`
    );
    const seconds = (performance.now() - started) / 1000;
    // Assess
    console.log(
      `[soak] ${sent} uploads, ${consumed()} messages consumed in ${seconds.toFixed(0)} s; runtime RSS ` +
        `${mib(before.rss)} -> ${mib(after.rss)} (${(((after.rss - before.rss) / before.rss) * 100).toFixed(1)}%), ` +
        `heap ${mib(before.heapUsed)} -> ${mib(after.heapUsed)}; Lambda environments ` +
        `${before.envs} x ${mib(before.envRss / Math.max(1, before.envs))} -> ` +
        `${after.envs} x ${mib(after.envRss / Math.max(1, after.envs))}`
    );
    expect(consumed()).toBe(TOTAL);
    expect(await depth(outputs.DeadLetterQueueUrl)).toBe(0);
    expect(await depth(outputs.DeliveryDeadLetterQueueUrl)).toBe(0);
    expect(after.rss).toBeLessThanOrEqual(before.rss * 1.1);
    expect(after.heapUsed).toBeLessThanOrEqual(before.heapUsed * 1.1);
  });
});
