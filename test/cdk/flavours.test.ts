import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_NAME } from '../../contract/stack.js';
import { unstagedAssets } from '../../scripts/localstack/assembly.js';
import {
  type DeployOptions,
  defaultOptions,
  localstackEnv,
  synthArgs,
} from '../../scripts/localstack/options.js';
import { REPO_ROOT } from '../../scripts/project.js';

/**
 * One template for every target. AWS and LocalStack get the same cloud assembly: there is
 * no LocalStack flavour. This file proves it three ways:
 *  - the CLI synthesizes byte-identical templates and asset manifests (so identical Lambda
 *    code) with and without everything a LocalStack deploy sets (endpoint, test
 *    credentials, account 000000000000, LocalStack variables, a `localstack` context key);
 *  - the stack source reads no context and no environment variables;
 *  - `npm run localstack:deploy` deploys the synthesized directory (toolkit-lib's
 *    `fromAssemblyDirectory`) instead of re-synthesizing with different inputs; its own tests
 *    are in test/unit/localstack-deploy.test.ts.
 */

const root = REPO_ROOT;

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

describe('the deployed assembly is a bundled one', () => {
  it('accepts the assembly cdk synth writes: every asset is staged inside it', () => {
    // Prepare
    const manifest = JSON.parse(readFileSync(join(plainDir, `${STACK_NAME}.assets.json`), 'utf8'));
    // Act + Assess
    expect(Object.keys(manifest.files).length).toBeGreaterThanOrEqual(8);
    expect(unstagedAssets(manifest, plainDir)).toEqual([]);
  });
});

const tsFiles = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1));
