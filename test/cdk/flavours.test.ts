import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapArgs,
  DEFAULT_ASSEMBLY_DIR,
  type DeployOptions,
  defaultOptions,
  deployArgs,
  holdAssembly,
  localstackEnv,
  STACK_NAME,
  synthArgs,
  unstagedAssets,
} from '../../scripts/localstack-deploy.js';

/**
 * One template for every target. AWS and LocalStack get the same cloud assembly: there is
 * no LocalStack flavour. This file proves it three ways:
 *  - the CLI synthesizes byte-identical templates and asset manifests (so identical Lambda
 *    code) with and without everything a LocalStack deploy sets (endpoint, test
 *    credentials, account 000000000000, LocalStack variables, a `localstack` context key);
 *  - the stack source reads no context and no environment variables;
 *  - `npm run localstack:deploy` deploys the synthesized directory (`--app cdk.out`) with
 *    no context flags, instead of re-synthesizing with different inputs.
 */

const root = resolve(import.meta.dirname, '../..');

const synth = (outdir: string, env: NodeJS.ProcessEnv, extra: string[] = []) =>
  new Promise<void>((ok, fail) => {
    const args = [...synthArgs({ ...defaultOptions(), assemblyDir: outdir }), ...extra];
    const child = spawn('npx', args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? ok() : fail(new Error(`npx ${args.join(' ')} exited ${code}:\n${stderr}`))
    );
  });

/** The caller's environment without anything AWS-, CDK- or LocalStack-specific. */
const neutralEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AWS_|CDK_|LOCALSTACK|CI$)/.test(k))
  );

const localstackOptions: DeployOptions = {
  ...defaultOptions(),
  endpoint: 'http://127.0.0.1:4566',
  region: 'us-east-1',
};

let work: string;
let plainDir: string;
let localstackDir: string;

beforeAll(async () => {
  // Prepare + Act (shared): two real CLI synths, the second with a LocalStack deploy's inputs.
  work = mkdtempSync(join(tmpdir(), 'flavours-'));
  plainDir = join(work, 'plain');
  localstackDir = join(work, 'localstack');
  await synth(plainDir, neutralEnv());
  await synth(
    localstackDir,
    {
      ...localstackEnv(localstackOptions, neutralEnv()),
      LOCALSTACK_ENDPOINT: 'http://127.0.0.1:4566',
      LOCALSTACK_HOST: '127.0.0.1:4566',
    },
    ['--context', 'localstack=true', '--context', 'target=localstack']
  );
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('one template for AWS and LocalStack', () => {
  it('synthesizes a byte-identical template with and without LocalStack environment and context', () => {
    // Prepare
    const file = `${STACK_NAME}.template.json`;
    const plain = readFileSync(join(plainDir, file), 'utf8');
    const localstack = readFileSync(join(localstackDir, file), 'utf8');
    // Assess: the template is real (not an empty file) and identical to the byte.
    expect(JSON.parse(plain).Resources).toBeDefined();
    expect(plain).not.toMatch(/localstack|000000000000|127\.0\.0\.1|4566/i);
    expect(localstack).toBe(plain);
  });

  it('builds the same Lambda code and layer assets (identical asset manifests and asset hashes)', () => {
    // Prepare
    const file = `${STACK_NAME}.assets.json`;
    const assets = (dir: string) =>
      readdirSync(dir)
        .filter((f) => f.startsWith('asset.'))
        .sort();
    // Assess
    expect(readFileSync(join(localstackDir, file), 'utf8')).toBe(
      readFileSync(join(plainDir, file), 'utf8')
    );
    expect(assets(plainDir).length).toBeGreaterThanOrEqual(7); // 6 functions + the ffmpeg layer
    expect(assets(localstackDir)).toEqual(assets(plainDir));
  });

  it('has no target switch in the stack source: no context reads, no environment reads', () => {
    // Prepare
    const files = ['bin/app.ts', ...tsFiles('lib')];
    // Assess
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const src = readFileSync(join(root, f), 'utf8');
      expect(src, f).not.toMatch(/tryGetContext|getContext\(|process\.env/);
    }
  });
});

describe('npm run localstack:deploy deploys the synthesized assembly', () => {
  it('deploys --app cdk.out (the synth output), names the stack and writes the outputs file', () => {
    // Prepare
    const o = defaultOptions([], {});
    // Act
    const args = deployArgs(o);
    // Assess
    expect(o.assemblyDir).toBe(DEFAULT_ASSEMBLY_DIR);
    expect(DEFAULT_ASSEMBLY_DIR).toBe('cdk.out');
    expect(args.slice(0, 2)).toEqual(['cdk', 'deploy']);
    expect(args[args.indexOf('--app') + 1]).toBe('cdk.out');
    expect(args).toContain(STACK_NAME);
    expect(args[args.indexOf('--outputs-file') + 1]).toBe('.localstack/outputs.json');
    expect(args[args.indexOf('--require-approval') + 1]).toBe('never');
  });

  it('synthesizes into the directory it bootstraps with and deploys, and no step passes context', () => {
    // Prepare
    const o = defaultOptions(['--region', 'eu-west-1'], { LOCALSTACK_ASSEMBLY_DIR: 'private.out' });
    // Act
    const synthA = synthArgs(o);
    const deployA = deployArgs(o);
    const bootstrapA = bootstrapArgs(o);
    // Assess
    expect(synthA[synthA.indexOf('--output') + 1]).toBe('private.out');
    expect(deployA[deployA.indexOf('--app') + 1]).toBe('private.out');
    // bootstrap reads the same assembly instead of re-synthesizing the app into cdk.out
    expect(bootstrapA[bootstrapA.indexOf('--app') + 1]).toBe('private.out');
    expect(bootstrapA).toContain('aws://000000000000/eu-west-1');
    for (const a of [...synthA, ...deployA, ...bootstrapA]) {
      expect(a).not.toMatch(/^(-c|--context)$/);
    }
    expect(o.region).toBe('eu-west-1');
  });

  it('points the CLI at LocalStack with test credentials and drops real profile credentials', () => {
    // Act
    const env = localstackEnv(localstackOptions, {
      AWS_PROFILE: 'prod',
      AWS_SESSION_TOKEN: 'real',
      PATH: '/bin',
    });
    // Assess
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      PATH: '/bin',
    });
    expect(env.AWS_PROFILE).toBeUndefined();
    expect(env.AWS_SESSION_TOKEN).toBeUndefined();
  });
});

describe('the deployed assembly is a bundled one', () => {
  it('accepts the assembly cdk synth writes: every asset is staged inside it', () => {
    // Prepare
    const manifest = JSON.parse(readFileSync(join(plainDir, `${STACK_NAME}.assets.json`), 'utf8'));
    // Act + Assess
    expect(Object.keys(manifest.files).length).toBeGreaterThanOrEqual(8);
    expect(unstagedAssets(manifest, plainDir)).toEqual([]);
  });

  it('rejects an assembly written with bundling skipped (cdk ls): its assets point at raw sources', () => {
    // Prepare: the shape `cdk ls --output x` writes (paths shortened).
    const manifest = {
      files: {
        layer: {
          displayName: 'Ffmpeg/Layer/Code',
          source: { path: '/repo/node_modules/@ffmpeg-installer/linux-x64' },
        },
        fn: { displayName: 'Probe/Function/Code', source: { path: '/repo' } },
        up: { displayName: 'Up', source: { path: '../elsewhere' } },
        tpl: {
          displayName: 'VideoPipeline Template',
          source: { path: 'VideoPipeline.template.json' },
        },
        ok: { displayName: 'Staged', source: { path: 'asset.abc' } },
      },
    };
    // Act
    const bad = unstagedAssets(manifest, '/repo/cdk.out');
    // Assess
    expect(bad).toEqual([
      'Ffmpeg/Layer/Code -> /repo/node_modules/@ffmpeg-installer/linux-x64',
      'Probe/Function/Code -> /repo',
      'Up -> ../elsewhere',
    ]);
  });
});

describe('the assembly cannot change under the deploy', () => {
  it('holds a CDK reader lock while deploying, so a concurrent cdk synth into it refuses', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const lock = join(dir, `read.${process.pid}.localstack-deploy.lock`);
    try {
      // Act
      const release = holdAssembly(dir);
      // Assess: the file name and content follow the CLI's RWLock (read.<pid>.<n>.lock, pid inside).
      expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
      release();
      expect(existsSync(lock)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start while another CLI is synthesizing into the assembly', () => {
    // Prepare: a live writer (this process) holds synth.lock.
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    writeFileSync(join(dir, 'synth.lock'), String(process.pid));
    try {
      // Act + Assess
      expect(() => holdAssembly(dir)).toThrow(/is synthesizing into/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const tsFiles = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1));
