import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type RunningConsole, startConsole } from '../../console/src/start.js';
import { type LocalRuntime, ROOT, startLocalRuntime } from '../../local-runtime/src/index.js';
import { poll as sharedPoll } from '../helpers/poll.js';

/**
 * What an adversarial file needs: its own local runtime on a random port (from the
 * assembly test/adversarial/setup.ts synthesized), SDK clients on it, optionally
 * the web console on it, and a raw HTTP client that sends exactly the headers an
 * attacker's page or process would (Host and Origin included, which fetch() would
 * not let a test choose). Logs go to .e2e/adversarial-<name>.log.
 */

export interface AdversarialEnv {
  runtime: LocalRuntime;
  /** The stack's outputs (UploadBucketName, StateMachineArn, …). */
  out: Record<string, string>;
  s3: S3Client;
  sqs: SQSClient;
  sfn: SFNClient;
  /** The console on this runtime, when asked for. */
  console?: RunningConsole;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Also start the web console (on a random port) against this runtime. */
  console?: boolean;
  /** Environment the runtime and console read at start (e.g. LOCAL_ALLOWED_ORIGINS); restored after. */
  env?: Record<string, string>;
}

export const startAdversarial = async (
  name: string,
  opts: StartOptions = {}
): Promise<AdversarialEnv> => {
  mkdirSync(join(ROOT, '.e2e'), { recursive: true });
  const log = createWriteStream(join(ROOT, '.e2e', `adversarial-${name}.log`));
  // A request still in flight when the runtime stops may log after stop() ended the file (CI once
  // saw `write after end` from the router as an uncaught error): such a late line is dropped.
  const write = (level: string) => (m: string) => {
    if (!log.writableEnded) log.write(`${level} ${m}\n`);
  };
  const saved = Object.fromEntries(Object.keys(opts.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, opts.env);
  const dir = mkdtempSync(join(tmpdir(), `adversarial-${name}-`));
  let runtime: LocalRuntime | undefined;
  let consoleApp: RunningConsole | undefined;
  try {
    runtime = await startLocalRuntime({
      assemblyDir: join(ROOT, 'cdk.out'),
      port: 0,
      outputsFile: join(dir, 'outputs.json'),
      logger: { info: write('INFO'), warn: write('WARN'), error: write('ERROR'), debug: () => {} },
    });
    if (opts.console) {
      consoleApp = await startConsole({ outputs: join(dir, 'outputs.json'), port: 0 });
    }
  } catch (err) {
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
    log.end();
    throw err;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const config = {
    region: runtime.region,
    endpoint: runtime.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const sqs = new SQSClient(config);
  const sfn = new SFNClient(config);
  const rt = runtime;
  return {
    runtime: rt,
    out: rt.outputs,
    s3,
    sqs,
    sfn,
    console: consoleApp,
    async stop() {
      s3.destroy();
      sqs.destroy();
      sfn.destroy();
      await consoleApp?.close();
      await rt.stop();
      rmSync(dir, { recursive: true, force: true });
      log.end();
    },
  };
};

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP/1.1 request to `base` (an `http://127.0.0.1:<port>` URL) with exactly these
 * headers: `host` overrides the real one, as a DNS-rebinding page's requests do.
 */
export const rawRequest = (
  base: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}
): Promise<RawResponse> => {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: opts.method ?? 'GET',
        headers: {
          ...(opts.body !== undefined ? { 'content-length': Buffer.byteLength(opts.body) } : {}),
          ...opts.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          })
        );
        res.on('error', reject);
      }
    );
    // A refusal closes the connection without reading the body: that is not an error here.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    req.end(opts.body);
  });
};

/** Every key in a bucket (under a prefix): what the "nothing was written" proofs compare. */
export const listKeys = async (s3: S3Client, bucket: string, prefix = ''): Promise<string[]> => {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
};

/** Every execution's name on the stack's state machine: what the "nothing started" proofs compare. */
export const executionNames = async (env: AdversarialEnv): Promise<string[]> => {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await env.sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: env.out.StateMachineArn,
        maxResults: 100,
        nextToken: token,
      })
    );
    names.push(...(page.executions ?? []).map((e) => e.name ?? ''));
    token = page.nextToken;
  } while (token);
  return names.sort();
};

/** The suite's one poll (test/helpers/poll.ts), every 250 ms as this harness always polled. */
export const poll = <T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number
): Promise<T> => sharedPoll(what, fn, timeoutMs, { intervalMs: 250 });

/** A hostile site's origin, and the Host its DNS-rebinding page would send to `base`. */
export const EVIL_ORIGIN = 'http://evil.example';
export const rebindingHost = (base: string): string => `evil.example:${new URL(base).port}`;
