import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { describeError } from '../src/aws.js';
import { runUpload } from '../src/commands.js';
import { checkReachable } from '../src/upload.js';
import { captureOut, fakeOutputs } from './helpers.js';

/** Real sockets on 127.0.0.1, no SDK mock: the point is what the network does. */

const clientFor = (endpoint: string) =>
  new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });

const listen = (server: Server): Promise<string> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    )
  );

/** A port nothing listens on: bind one, then release it. */
const closedPort = async (): Promise<string> => {
  const server = createServer();
  const endpoint = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return endpoint;
};

let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  servers = [];
});

const serve = (handler: Parameters<typeof createServer>[1]): Promise<string> => {
  const server = createServer(handler);
  servers.push(server);
  return listen(server);
};

describe('checkReachable', () => {
  it('fails with "cannot reach" when nothing listens on the endpoint', async () => {
    // Prepare
    const endpoint = await closedPort();
    const s3 = clientFor(endpoint);

    // Act
    const error = await checkReachable(s3, 'uploads-bucket', endpoint).catch((e: unknown) => e);

    // Assess
    expect(describeError(error, endpoint)).toBe(
      `cannot reach ${endpoint}: is \`npm run local\` running?`
    );
  });

  it('gives up on an endpoint that accepts but never answers', async () => {
    // Prepare
    const endpoint = await serve(() => {
      // Never respond: a hung emulator.
    });
    const s3 = clientFor(endpoint);

    // Act
    const act = checkReachable(s3, 'uploads-bucket', endpoint, 300);

    // Assess
    await expect(act).rejects.toThrow(`cannot reach ${endpoint}: no answer within 300ms`);
  });

  it('says the bucket is missing when the endpoint answers 404', async () => {
    // Prepare
    const endpoint = await serve((_req, res) => res.writeHead(404).end());
    const s3 = clientFor(endpoint);

    // Act
    const act = checkReachable(s3, 'uploads-bucket', endpoint);

    // Assess
    await expect(act).rejects.toThrow(`upload bucket uploads-bucket does not exist at ${endpoint}`);
  });

  it('counts a 403 as reachable: PutObject does not need ListBucket', async () => {
    // Prepare
    const heads: string[] = [];
    const endpoint = await serve((req, res) => {
      heads.push(`${req.method} ${req.url}`);
      res.writeHead(403).end();
    });
    const s3 = clientFor(endpoint);

    // Act
    await checkReachable(s3, 'uploads-bucket', endpoint);

    // Assess
    expect(heads).toEqual(['HEAD /uploads-bucket/']);
  });
});

describe('upload against an endpoint that is down', () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails with "cannot reach" before printing any upload progress', async () => {
    // Prepare
    dir = await mkdtemp(join(tmpdir(), 'cli-down-'));
    const file = join(dir, 'clip.mp4');
    await writeFile(file, Buffer.alloc(64 * 1024, 1));
    const endpoint = await closedPort();
    const out = captureOut(false);
    const err = captureOut(false);
    const ctx = {
      outputs: fakeOutputs(),
      clients: {
        s3: clientFor(endpoint),
        sfn: new SFNClient({ region: 'us-east-1', endpoint }),
        sqs: new SQSClient({ region: 'us-east-1', endpoint }),
        endpoint,
      },
      out,
      err,
    };

    // Act
    const error = await runUpload(ctx, file, { watch: true, timeoutSec: 60 }).catch(
      (e: unknown) => e
    );

    // Assess
    expect(describeError(error, endpoint)).toBe(
      `cannot reach ${endpoint}: is \`npm run local\` running?`
    );
    expect(out.text()).toBe('');
  });
});
