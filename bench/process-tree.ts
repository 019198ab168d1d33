import { readdirSync, readFileSync } from 'node:fs';

/**
 * Memory of a process and all its descendants, read from /proc (Linux only): the local
 * runtime's own process, its Lambda environments and the ffmpeg processes they spawn.
 * RSS counts pages shared between processes once per process (an upper bound); PSS splits
 * shared pages between their users, so its sum is what the tree really holds.
 */
export interface TreeMemory {
  pids: number[];
  rssMiB: number;
  pssMiB: number;
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process ended between listing and reading
  }
};

/** Parent of every live process. The comm field may hold spaces and ')', so split after the last ')'. */
const parents = (): Map<number, number> => {
  const ppid = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ppid.set(Number(entry), Number(fields[1]));
  }
  return ppid;
};

/** `root` and its descendants, root first. */
export const descendants = (root: number): number[] => {
  const children = new Map<number, number[]>();
  for (const [pid, parent] of parents()) {
    const list = children.get(parent) ?? [];
    list.push(pid);
    children.set(parent, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
};

const kib = (text: string | undefined, field: string): number => {
  const m = text && new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};

/** One reading of the tree under `root` (default: this process). */
export const treeMemory = (root = process.pid): TreeMemory => {
  const pids = descendants(root);
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    rss += kib(read(`/proc/${pid}/status`), 'VmRSS');
    pss += kib(read(`/proc/${pid}/smaps_rollup`), 'Pss');
  }
  return { pids, rssMiB: rss / 1024, pssMiB: pss / 1024 };
};

/** Samples `treeMemory(root)` every `intervalMs` and keeps the peaks. */
export class TreeMemorySampler {
  peakRssMiB = 0;
  peakPssMiB = 0;
  peakProcesses = 0;
  samples = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly root = process.pid,
    private readonly intervalMs = 1000
  ) {}

  sample(): TreeMemory {
    const m = treeMemory(this.root);
    this.samples++;
    this.peakRssMiB = Math.max(this.peakRssMiB, m.rssMiB);
    this.peakPssMiB = Math.max(this.peakPssMiB, m.pssMiB);
    this.peakProcesses = Math.max(this.peakProcesses, m.pids.length);
    return m;
  }

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Linux's USER_HZ: /proc reports CPU time in ticks of 1/100 s on every architecture Node runs on. */
const TICK_MS = 10;

/** CPU time (user + system, ms) a live process has used so far; 0 once it has ended. */
export const processCpuMs = (pid: number): number => {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime); `fields` starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
};

/** CPU time of `root` alone and of its live descendants together (ms). */
export const treeCpuMs = (root: number): { own: number; descendants: number } => {
  const [self, ...rest] = descendants(root);
  return {
    own: processCpuMs(self!),
    descendants: rest.reduce((sum, pid) => sum + processCpuMs(pid), 0),
  };
};
