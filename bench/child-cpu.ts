import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time of this process's finished children (ffmpeg, ffprobe), as the
 * kernel accounts it: `cutime + cstime` in /proc/self/stat, the user and
 * system time of every child this process has waited for (getrusage
 * RUSAGE_CHILDREN; Node's process.resourceUsage() and cpuUsage() count the
 * process itself only). Node reaps a child before its `exit` event, so a
 * stage's children are all counted once its promises have settled. Linux only.
 * proc(5): https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html
 */

/** Fields 16 and 17 of a /proc/<pid>/stat line (1-based), in seconds. */
export const childCpuFromStat = (stat: string, ticksPerSecond: number): number => {
  // The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const cutime = Number(rest[16 - 3]);
  const cstime = Number(rest[17 - 3]);
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) {
    throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  }
  return (cutime + cstime) / ticksPerSecond;
};

let ticks: number | undefined;
const ticksPerSecond = (): number => {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
};

/** Whether the figures can be read here (Linux /proc). */
export const childCpuAvailable = (): boolean => {
  try {
    readFileSync('/proc/self/stat', 'utf8');
    return true;
  } catch {
    return false;
  }
};

/** Seconds of CPU used so far by this process's reaped children (NaN where /proc is absent). */
export const childCpuSeconds = (): number =>
  childCpuAvailable()
    ? childCpuFromStat(readFileSync('/proc/self/stat', 'utf8'), ticksPerSecond())
    : Number.NaN;

/** Wall and child CPU seconds of one awaited stage. */
export const measured = async <T>(
  fn: () => Promise<T>
): Promise<{ value: T; wallSec: number; cpuSec: number }> => {
  const cpu0 = childCpuSeconds();
  const t0 = performance.now();
  const value = await fn();
  return {
    value,
    wallSec: (performance.now() - t0) / 1000,
    cpuSec: childCpuSeconds() - cpu0,
  };
};
