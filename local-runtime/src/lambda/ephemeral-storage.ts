import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalRuntimeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FunctionSpec } from '../model.js';

/**
 * How functions get their /tmp. `shared` (default): the host's temp dir, unbounded,
 * as before. `tmpfs`: each function gets its own tmpfs of its template's
 * EphemeralStorage.Size as TMPDIR, so a full /tmp fails writes with ENOSPC at the
 * size AWS enforces:
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html
 * Mounting a tmpfs needs Linux and root (CAP_SYS_ADMIN); `tmpfs` refuses to start
 * otherwise rather than quietly running unbounded. Differences from AWS: one tmpfs
 * per function, shared by its concurrent environments (AWS gives each environment
 * its own), and tmpfs pages live in RAM until written out to swap.
 */
export type EphemeralStorageMode = 'shared' | 'tmpfs';

export class EphemeralStorage {
  private readonly dirs = new Map<string, string>();
  private root?: string;

  constructor(
    readonly mode: EphemeralStorageMode,
    private readonly logger: Logger
  ) {}

  static modeFrom(value: string | undefined): EphemeralStorageMode {
    if (value === undefined || value === '' || value === 'shared') return 'shared';
    if (value === 'tmpfs') return 'tmpfs';
    throw new LocalRuntimeError(
      `LOCAL_EPHEMERAL_STORAGE must be "shared" or "tmpfs", got ${JSON.stringify(value)}`
    );
  }

  /** Mounts one tmpfs per function and points its TMPDIR there (mode `tmpfs` only). */
  provision(functions: FunctionSpec[]) {
    if (this.mode !== 'tmpfs') return;
    if (process.platform !== 'linux' || process.getuid?.() !== 0) {
      throw new LocalRuntimeError(
        'LOCAL_EPHEMERAL_STORAGE=tmpfs mounts a tmpfs per function: it needs Linux and root'
      );
    }
    this.root = mkdtempSync(path.join(tmpdir(), 'local-runtime-tmp-'));
    for (const fn of functions) {
      if (fn.notRunnable) continue;
      const dir = path.join(this.root, fn.logicalId);
      mkdirSync(dir);
      const res = spawnSync(
        'mount',
        ['-t', 'tmpfs', '-o', `size=${fn.ephemeralStorageMiB}m,mode=1777`, 'tmpfs', dir],
        { encoding: 'utf8' }
      );
      if (res.status !== 0) {
        this.unmountAll();
        throw new LocalRuntimeError(
          `Could not mount a ${fn.ephemeralStorageMiB} MiB tmpfs for ${fn.name}: ${(res.stderr || res.error?.message || '').trim()}`
        );
      }
      this.dirs.set(fn.name, dir);
      fn.environment = { ...fn.environment, TMPDIR: dir };
    }
    this.logger.info(
      `[local] ${this.dirs.size} functions got a tmpfs /tmp of their EphemeralStorage.Size`
    );
  }

  /** The function's /tmp (TMPDIR) in mode `tmpfs`. */
  dirOf(functionName: string): string | undefined {
    return this.dirs.get(functionName);
  }

  unmountAll() {
    for (const dir of this.dirs.values()) spawnSync('umount', [dir]);
    this.dirs.clear();
    if (this.root) rmSync(this.root, { recursive: true, force: true });
    this.root = undefined;
  }
}
