import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { LocalRuntimeError } from './errors.js';
import { ROOT as REPO_ROOT } from './synth.js';

/**
 * `--state-dir`: where the runtime keeps what must outlive a restart. Only fixed
 * names are made here (this marker, `s3/`); everything under `s3/` is named by
 * SHA-256 (s3-persistence.ts), so no bucket, key or id ever names a file.
 */
const MARKER = 'local-runtime-state.json';
const FORMAT = 1;

/** The one sub-folder this version keeps (S3 buckets, objects, multipart uploads). */
export const S3_SUBDIR = 's3';

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * Checks and prepares a state directory; returns its real path. It must be (or
 * become) a directory; inside the repository only under `.local/` (git-ignored),
 * never among the sources; and either empty/new or one this runtime made (its
 * marker), so a mistyped path cannot fill or read a folder of other files.
 */
export function prepareStateDir(dir: string, repoRoot: string = REPO_ROOT): string {
  if (!dir.trim()) throw new LocalRuntimeError('--state-dir is empty');
  const wanted = path.resolve(dir);
  if (existsSync(wanted) && !statSync(wanted).isDirectory()) {
    throw new LocalRuntimeError(`--state-dir ${wanted} exists and is not a directory`);
  }
  const root = realpathSync(repoRoot);
  // Checked before creating anything, on the path as it will resolve.
  const checkPlace = (p: string) => {
    if (inside(p, root) && !inside(p, path.join(root, '.local'))) {
      throw new LocalRuntimeError(
        `--state-dir ${p} is inside the repository (${root}): use a folder outside it, or under ${path.join(root, '.local')}`
      );
    }
  };
  const existing = nearestExisting(wanted);
  checkPlace(path.join(realpathSync(existing), path.relative(existing, wanted)));
  mkdirSync(wanted, { recursive: true });
  const real = realpathSync(wanted);
  checkPlace(real);
  const marker = path.join(real, MARKER);
  if (existsSync(marker)) {
    const { format } = JSON.parse(readFileSync(marker, 'utf8')) as { format?: number };
    if (format !== FORMAT) {
      throw new LocalRuntimeError(
        `--state-dir ${real} was written by another format (${format}); this runtime reads ${FORMAT}`
      );
    }
  } else if (readdirSync(real).length > 0) {
    throw new LocalRuntimeError(
      `--state-dir ${real} is not empty and has no ${MARKER}: give an empty or new folder`
    );
  } else {
    writeFileSync(marker, `${JSON.stringify({ format: FORMAT, keeps: [S3_SUBDIR] })}\n`);
  }
  mkdirSync(path.join(real, S3_SUBDIR), { recursive: true });
  return real;
}

function nearestExisting(p: string): string {
  let cur = p;
  while (!existsSync(cur)) cur = path.dirname(cur);
  return cur;
}
