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

/** Why the assembly must be synthesized again, or undefined when it is current. */
export function staleReason(root: string, assemblyDir: string): string | undefined {
  if (!existsSync(path.join(assemblyDir, 'manifest.json'))) return 'no cloud assembly yet';
  const stamp = path.join(assemblyDir, STAMP);
  if (!existsSync(stamp)) return 'the assembly was not synthesized by `npm run local`';
  if (readFileSync(stamp, 'utf8').trim() !== inputsHash(root)) {
    return `${ASSEMBLY_INPUTS.join(', ')} changed since the last synth`;
  }
  return undefined;
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
