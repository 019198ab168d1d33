import os from 'node:os';
import { LocalRuntimeError } from '../errors.js';

/**
 * How many execution environments one function without reserved concurrency may hold
 * at once on this machine. AWS scales such a function up to the account's unreserved
 * concurrency (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html);
 * one machine cannot, so the local runtime caps environments per function and queues
 * the invocations beyond the cap (they still count against the account, so throttles
 * are never hidden). The cap is a local difference, listed in local-runtime/README.md.
 *
 * The rule: a quarter of the machine's memory is the budget for one function's
 * environments, each counted at its full MemorySize (what AWS would let it use: the
 * video functions spend it in ffmpeg children), so a function never gets more
 * environments than the machine could back at once; and never more than twice the
 * cores, since CPU-bound handlers gain nothing from more.
 *
 *   cap = clamp(floor(totalMemory × MEMORY_SHARE / MemorySize), 1, max(2, 2 × cores))
 */
export const MEMORY_SHARE = 0.25;

export interface MachineShape {
  /** os.availableParallelism() */
  cores: number;
  /** os.totalmem() in MiB */
  totalMemoryMiB: number;
}

/** The pure rule above: environments for a function of `memorySizeMiB` on `machine`. */
export function environmentsPerFunction(machine: MachineShape, memorySizeMiB: number): number {
  const byMemory = Math.floor((machine.totalMemoryMiB * MEMORY_SHARE) / memorySizeMiB);
  const byCores = Math.max(2, 2 * machine.cores);
  return Math.min(Math.max(byMemory, 1), byCores);
}

/** This machine, as the rule reads it. */
export const thisMachine = (): MachineShape => ({
  cores: os.availableParallelism(),
  totalMemoryMiB: Math.floor(os.totalmem() / 1024 / 1024),
});

/**
 * The explicit override: the `maxEnvironmentsPerFunction` option, else LOCAL_MAX_ENVIRONMENTS;
 * undefined means "use the rule". A value that is not a positive integer is refused.
 */
export function environmentsOverride(
  option: number | undefined,
  env: string | undefined = process.env.LOCAL_MAX_ENVIRONMENTS
): number | undefined {
  const [value, source] =
    option !== undefined
      ? [option, 'maxEnvironmentsPerFunction']
      : env !== undefined && env !== ''
        ? [Number(env), 'LOCAL_MAX_ENVIRONMENTS']
        : [undefined, ''];
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) {
    throw new LocalRuntimeError(`${source} must be a positive integer, got ${option ?? env}`);
  }
  return value;
}
