import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { LocalRuntimeError } from './errors.js';

/** What `cdk synth` reads: the app, its constructs, the Lambda code and the dependency set. */
export const ASSEMBLY_INPUTS = [
  'bin',
  'lib',
  'lambdas',
  'contract',
  'cdk.json',
  'cdk.context.json',
  'package-lock.json',
  'tsconfig.json',
];

/** Written into the assembly after a synth, so the next start can tell whether it is current. */
const STAMP = '.local-inputs.sha256';

function files(root: string, rel: string): string[] {
  const abs = path.join(root, rel);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs, { withFileTypes: true })
    .filter((e) => e.name !== 'node_modules' && !e.name.startsWith('.'))
    .flatMap((e) => files(root, path.join(rel, e.name)));
}

/**
 * A content hash, not mtimes: a checkout or a rebase touches mtimes without
 * changing anything, and restoring an older file keeps a newer-looking assembly.
 */
export function inputsHash(root: string, inputs = ASSEMBLY_INPUTS): string {
  const h = createHash('sha256');
  for (const rel of inputs.flatMap((i) => files(root, i)).sort()) {
    h.update(`${rel}\0`);
    h.update(readFileSync(path.join(root, rel)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** What one freshness check found; `synthDecision` turns it into a verdict. */
export interface AssemblyState {
  /** The assembly has a manifest.json. */
  readonly hasAssembly: boolean;
  /** The inputs hash recorded by the last synth that went through `ensureAssembly`, if any. */
  readonly stamp?: string;
  /** The inputs hash now. */
  readonly inputs: string;
  /** A reason to synthesize that the inputs hash cannot see (a new ffmpeg build in .tools/). */
  readonly force?: string;
}

export type SynthDecision =
  | { readonly synth: true; readonly reason: string }
  | { readonly synth: false; readonly reason: string };

/**
 * The one freshness rule for `npm run demo` and `npm run local`: both read and
 * write the same stamp in the same cdk.out, so the second never synthesizes
 * inputs the first just synthesized. (The demo used to compare mtimes and never
 * wrote the stamp, so `npm run local` right after it synthesized again.)
 */
export function synthDecision(state: AssemblyState): SynthDecision {
  if (state.force) return { synth: true, reason: state.force };
  if (!state.hasAssembly) return { synth: true, reason: 'no cloud assembly yet' };
  if (state.stamp === undefined) {
    return {
      synth: true,
      reason: 'cdk.out has no inputs stamp (synthesized by plain `cdk synth`)',
    };
  }
  if (state.stamp !== state.inputs) {
    return { synth: true, reason: `${ASSEMBLY_INPUTS.join(', ')} changed since the last synth` };
  }
  return { synth: false, reason: 'cdk.out is current (inputs unchanged): not synthesizing' };
}

/** Reads the assembly's state from disk (the I/O half of `synthDecision`). */
export function assemblyState(root: string, assemblyDir: string, force?: string): AssemblyState {
  const stampFile = path.join(assemblyDir, STAMP);
  return {
    hasAssembly: existsSync(path.join(assemblyDir, 'manifest.json')),
    stamp: existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : undefined,
    inputs: inputsHash(root),
    force,
  };
}

/** Why the assembly must be synthesized again, or undefined when it is current. */
export function staleReason(root: string, assemblyDir: string): string | undefined {
  const d = synthDecision(assemblyState(root, assemblyDir));
  return d.synth ? d.reason : undefined;
}

/** `hash` is taken before the synth: an edit made during it must trigger the next one. */
export function recordInputs(assemblyDir: string, hash: string): void {
  writeFileSync(path.join(assemblyDir, STAMP), `${hash}\n`);
}

/** Fails fast (before a 30-60 s synth) when the port the runtime needs is taken. */
export function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new LocalRuntimeError(
              `Port ${port} on ${host} is already in use (another local runtime or LocalStack?)`
            )
          : err
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
