import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EphemeralStorageFullError } from '../../contract/errors.js';

/**
 * Runs `fn` with a fresh directory under the OS temp dir and always removes it.
 * Lambda reuses /tmp across warm invocations, so a leaked source video would
 * eat into the next invocation's ephemeral storage.
 */
export const withTempDir = async <T>(
  prefix: string,
  fn: (dir: string) => Promise<T>
): Promise<T> => {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`)).catch(named);
  try {
    return await fn(dir).catch(named);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/** A write from Node that hit a full /tmp gets its pipeline name (terminal). */
const named = (err: unknown): never => {
  if ((err as NodeJS.ErrnoException)?.code === 'ENOSPC') {
    throw new EphemeralStorageFullError(`/tmp (${tmpdir()}) is full: ${(err as Error).message}`, {
      cause: err,
    });
  }
  throw err;
};
