import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { assemblyState, inputsHash, recordInputs, synthDecision } from './freshness.js';
import { advance, render, START, type SynthProgress } from './synth-progress.js';

/**
 * The repository root, where cdk.json and cdk.out live (the package root, two
 * levels above this file). Computed here so the runtime imports nothing from
 * the app or the tools around it.
 */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The assembly every tool runs. */
export const ASSEMBLY_DIR = join(ROOT, 'cdk.out');

/**
 * `cdk synth` with the pinned CLI, output shown, into ROOT/cdk.out: the one
 * assembly the local runtime, LocalStack and AWS all run. `app` synthesizes
 * another entry (the e2e suite's stack with its test tenants) into the same
 * folder; only the production app's assembly is stamped as current, so a later
 * `npm run local` or demo never reuses a test configuration.
 */
export const synthesize = ({ app }: { app?: string } = {}): void => {
  const hash = app === undefined ? inputsHash(ROOT) : undefined;
  const appArgs = app === undefined ? [] : ['--app', app];
  const res = spawnSync('npx', ['cdk', 'synth', '--quiet', ...appArgs], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (res.status !== 0) throw new Error(`cdk synth failed (exit ${res.status})`);
  if (hash !== undefined) recordInputs(ASSEMBLY_DIR, hash);
};

/** How many functions the last synth bundled: the "n/N" of the next one's progress. */
const BUNDLES = '.local-bundles';

/**
 * `cdk synth` showing what it is doing (synth-progress.ts) instead of its raw
 * bundling output; that output is printed in full only if the synth fails.
 */
export const synthesizeWithProgress = (out: NodeJS.WriteStream = process.stdout): Promise<void> => {
  const bundlesFile = join(ASSEMBLY_DIR, BUNDLES);
  const expected = existsSync(bundlesFile)
    ? Number(readFileSync(bundlesFile, 'utf8')) || undefined
    : undefined;
  let state: SynthProgress = { ...START, expected };
  let shown: string | undefined;
  const show = () => {
    const r = render(state, shown, { isTTY: Boolean(out.isTTY), columns: out.columns });
    shown = r.line;
    if (r.text) out.write(r.text);
  };
  show();
  const child = spawn('npx', ['cdk', 'synth', '--quiet'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const transcript: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      transcript.push(line);
      const next = advance(state, line);
      if (next !== state) {
        state = next;
        show();
      }
    });
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (out.isTTY) out.write('\r\x1b[2K');
      if (code !== 0) {
        process.stderr.write(`${transcript.join('\n')}\n`);
        reject(new Error(`cdk synth failed (exit ${code})`));
        return;
      }
      writeFileSync(bundlesFile, `${state.bundled}\n`);
      resolve();
    });
  });
};

/**
 * Synthesizes ROOT/cdk.out when `synthDecision` says so, and stamps it: the demo
 * and `npm run local` share this, so neither repeats the other's synth.
 * Returns the decision so the caller can say why.
 */
export const ensureAssembly = async (
  options: { force?: string; log?: (line: string) => void } = {}
): Promise<{ synthesized: boolean; reason: string }> => {
  const state = assemblyState(ROOT, ASSEMBLY_DIR, options.force);
  const decision = synthDecision(state);
  options.log?.(decision.synth ? `synthesizing: ${decision.reason}` : decision.reason);
  if (!decision.synth) return { synthesized: false, reason: decision.reason };
  // The hash from before the synth: an edit made during it triggers the next one.
  const hash = state.inputs;
  await synthesizeWithProgress();
  recordInputs(ASSEMBLY_DIR, hash);
  return { synthesized: true, reason: decision.reason };
};
