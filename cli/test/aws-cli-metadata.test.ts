import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THUMBNAIL_TIMES_METADATA } from '../../contract/index.js';

/**
 * The AWS CLI form of the upload metadata that cli/README.md documents, run
 * through the real `aws` binary against a 127.0.0.1 server that records what
 * S3 would receive. Skipped (and reported as skipped) where `aws` is missing.
 */

const run = promisify(execFile);
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** The `--metadata` argument exactly as the README shows it, without the shell quotes. */
const DOCUMENTED = '{"thumbnail-times":"1,2.5"}';

const hasAwsCli = await run('aws', ['--version']).then(
  () => true,
  () => false
);

describe.skipIf(!hasAwsCli)('aws s3 cp with upload metadata', () => {
  let server: Server;
  let endpoint: string;
  let dir: string;
  let file: string;
  const puts: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.method === 'PUT') puts.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(200, { ETag: '"0123"' }).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'cli-awscli-'));
    file = join(dir, 'clip.mp4');
    await writeFile(file, Buffer.alloc(1024, 7));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const awsCp = (metadata: string) =>
    run(
      'aws',
      [
        's3',
        'cp',
        file,
        's3://upload-bucket/uploads/clip.mp4',
        '--metadata',
        metadata,
        '--endpoint-url',
        endpoint,
        '--region',
        'us-east-1',
      ],
      {
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_CONFIG_FILE: join(dir, 'none'),
          AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
        },
      }
    );

  it('the README documents the JSON form', () => {
    // Prepare
    const shown = `--metadata '${DOCUMENTED}'`;

    // Act
    const documented = README.includes(shown);

    // Assess
    expect(documented).toBe(true);
    expect(Object.keys(JSON.parse(DOCUMENTED))).toEqual([THUMBNAIL_TIMES_METADATA]);
  });

  it('sends x-amz-meta-thumbnail-times: 1,2.5 with the JSON form', async () => {
    // Prepare
    puts.length = 0;

    // Act
    await awsCp(DOCUMENTED);

    // Assess
    expect(puts).toHaveLength(1);
    expect(puts[0]['x-amz-meta-thumbnail-times']).toBe('1,2.5');
  });

  it('rejects the shorthand form, which splits the value on its comma', async () => {
    // Prepare
    puts.length = 0;

    // Act
    const failure = await awsCp('thumbnail-times=1,2.5').then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e
    );

    // Assess
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toContain('Invalid type for parameter thumbnail-times');
    expect(puts).toHaveLength(0);
  });
});
