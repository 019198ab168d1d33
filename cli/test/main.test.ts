import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/project.js';
import { buildProgram, CLI_NAME } from '../src/main.js';
import { linesWiderThan, unwrap } from './helpers.js';

const root = REPO_ROOT;
const tsx = join(root, 'node_modules/.bin/tsx');
const main = join(root, 'cli/src/main.ts');

/** Runs the real CLI in a child process with a clean AWS environment. */
const cli = (args: string[], env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))
    ) as Record<string, string>;
    execFile(
      tsx,
      [main, ...args],
      { cwd: dir, env: { ...clean, HOME: dir, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      }
    );
  });

/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-main-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cli process', () => {
  it('prints one message and exits 1 when no outputs file exists', async () => {
    // Prepare
    const args = ['list'];

    // Act
    const res = await cli(args);

    // Assess
    expect(res.code).toBe(1);
    // One message, wrapped at 80 columns (stderr is not a TTY), continuation lines indented.
    const [first, ...rest] = res.stderr.trim().split('\n');
    expect(first).toMatch(/^error: /);
    expect(rest.every((l) => l.startsWith('  '))).toBe(true);
    expect(linesWiderThan(res.stderr, 80)).toEqual([]);
    expect(unwrap(res.stderr.trim())).toBe(
      `error: no outputs file found (tried ${join(dir, '.local/outputs.json')}, ${join(dir, 'cdk-outputs.json')}): ` +
        '`npm run local` writes .local/outputs.json; for AWS run `cdk deploy --outputs-file cdk-outputs.json`, or pass --outputs <file>'
    );
  });

  it('says the local runtime is not running when the endpoint refuses connections', async () => {
    // Prepare
    const port = await closedPort();
    const outputs = join(dir, 'outputs.json');
    await writeFile(
      outputs,
      JSON.stringify({
        VideoPipeline: {
          UploadBucketName: 'up',
          OutputBucketName: 'out',
          StateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:Video',
        },
      })
    );

    // Act
    const res = await cli([
      'status',
      'clip-0000000000000000',
      '--outputs',
      outputs,
      '--endpoint-url',
      `http://127.0.0.1:${port}`,
    ]);

    // Assess
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(
      `error: cannot reach http://127.0.0.1:${port}: is \`npm run local\` running?`
    );
  });

  it('rejects a bad option value through commander', async () => {
    // Prepare
    const args = ['list', '--limit', 'zero'];

    // Act
    const res = await cli(args);

    // Assess
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('--limit must be a positive integer');
  });
});

/** What `<args> --help` prints, in process (commander writes help through configureOutput). */
const helpOf = async (args: string[]): Promise<string> => {
  let out = '';
  const program = buildProgram();
  const quiet = (cmd: Command) => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => {
        out += s;
      },
      writeErr: (s) => {
        out += s;
      },
    });
    for (const sub of cmd.commands) quiet(sub);
  };
  quiet(program);
  await program.parseAsync(['node', CLI_NAME, ...args, '--help']).catch(() => undefined);
  return out;
};

describe('help', () => {
  it.each([
    ['upload', '0  uploaded (without --watch), or COMPLETE'],
    ['status', '3  no manifest yet (still in progress)'],
    ['list', '0  listed'],
    ['metrics', '1  an error (no local runtime endpoint, or it does not answer)'],
    ['redrive', 'dlq:'],
    ['redrive dlq', '0  the move task COMPLETED (or there was nothing to move)'],
    ['redrive video', '2  PARTIAL: some branches failed again'],
  ])(
    '`%s --help` names the real command and lists the global options and exit codes',
    async (path, code) => {
      // Act
      const help = await helpOf(path.split(' '));

      // Assess
      expect(help).toContain(`Usage: ${CLI_NAME} ${path} `);
      expect(help).toContain('Global Options:');
      for (const option of ['--outputs <file>', '--endpoint-url <url>', '--profile <name>']) {
        expect(help).toContain(option);
      }
      expect(help).toContain('Exit codes:');
      expect(help).toContain(code);
    }
  );

  it('is a package.json bin that npx runs under Node 24', async () => {
    // Prepare
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };

    // Act: through npx, as the README says, from the repository.
    const res = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'npx',
        ['--no-install', CLI_NAME, 'upload', '--help'],
        { cwd: root, timeout: 60_000 },
        (err, stdout) => resolve({ code: err ? 1 : 0, stdout })
      );
    });
    const nodeMajor = await new Promise<string>((resolve) => {
      execFile(
        'npx',
        ['--no-install', 'node', '-p', 'process.versions.node.split(".")[0]'],
        { cwd: root },
        (_e, stdout) => resolve(stdout.trim())
      );
    });

    // Assess
    expect(Object.keys(pkg.bin)).toEqual([CLI_NAME]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`Usage: ${CLI_NAME} upload [options] <file>`);
    expect(nodeMajor).toBe('24');
  });
});
