import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  assemblyState,
  inputsHash,
  recordInputs,
  synthDecision,
} from '../local-runtime/src/freshness.js';
import { REPO_ROOT } from './project.js';
import { advance, render, START, type SynthProgress } from './synth-progress.js';

/** The repository root, where cdk.json and cdk.out live. */
export const ROOT = REPO_ROOT;

/** The assembly every tool runs. */
export const ASSEMBLY_DIR = join(ROOT, 'cdk.out');

/**
 * `cdk synth` with the pinned CLI, output shown, into ROOT/cdk.out: the one
 * assembly the local runtime, LocalStack and AWS all run.
 */
export const synthesize = (): void => {
  const hash = inputsHash(ROOT);
  const res = spawnSync('npx', ['cdk', 'synth', '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`cdk synth failed (exit ${res.status})`);
  // Stamped like ensureAssembly's: a later `npm run local` or demo reuses this assembly.
  recordInputs(ASSEMBLY_DIR, hash);
};

/** How many functions the last synth bundled: the "n/N" of the next one's progress. */
const BUNDLES = '.local-bundles';

/**
 * `cdk synth` showing what it is doing (scripts/synth-progress.ts) instead of its
 * raw bundling output; that output is printed in full only if the synth fails.
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
