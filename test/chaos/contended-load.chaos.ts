import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchLoad } from '../../bench/load.js';

/**
 * Load within the machine (issue #18, item 5), small enough for CI: 6 concurrent uploads of a
 * 10 s 640x360 clip with audio while two busy loops hold the CPU, as other work on a developer's
 * or a CI machine would. The runtime runs in its own process (bench/load.ts) so its tree (the
 * runtime, its Lambda environments, their ffmpeg processes) is measured alone from /proc; the
 * busy loops are this process's children, outside that tree. Every video must end COMPLETE:
 * contention may slow the pipeline, never change a verdict. Peak RSS/PSS are printed, not
 * asserted (no timing or speed assertions in tests; the 4 GB target is for the bench's 1080p run).
 */
const VIDEOS = 6;
const BUSY_LOOPS = 2;
/** Each busy loop ends by itself after this long, even if afterAll never runs. */
const BUSY_LIMIT_MS = 8 * 60_000;

/** CPU seconds a process has used (utime + stime from /proc/<pid>/stat), or undefined once gone. */
const cpuSeconds = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5), counted after the comm field's two: utime, stime in ticks.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
};

describe(`${VIDEOS} concurrent uploads while ${BUSY_LOOPS} busy loops hold the CPU`, () => {
  const loops: ChildProcess[] = [];

  beforeAll(() => {
    for (let i = 0; i < BUSY_LOOPS; i++) {
      loops.push(
        spawn(
          process.execPath,
          ['-e', `const end = Date.now() + ${BUSY_LIMIT_MS}; while (Date.now() < end) {}`],
          { stdio: 'ignore' }
        )
      );
    }
  });
  afterAll(async () => {
    await Promise.all(
      loops.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          })
      )
    );
  });

  it('ends every video COMPLETE and reports the tree peak memory', async () => {
    // Prepare: the contention is running (spawned in beforeAll).
    expect(loops.every((c) => c.pid !== undefined && c.exitCode === null)).toBe(true);
    // Act: clip generation, uploads and the wait for manifests, in bench/load.ts.
    const r = await benchLoad(
      { videos: VIDEOS, seconds: 10, width: 640, height: 360, timeoutMs: 6 * 60_000 },
      (line) => console.log(line)
    );
    const busyCpu = loops.map((c) => cpuSeconds(c.pid!)?.toFixed(0) ?? 'gone').join(', ');
    // Assess
    console.log(
      `[contended load] ${VIDEOS} videos of 10 s 640x360 in ${(r.wallMs / 1000).toFixed(1)} s ` +
        `beside ${BUSY_LOOPS} busy loops (CPU s each: ${busyCpu}); ` +
        `${os.availableParallelism()} cores, load ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}; ` +
        `runtime tree peak RSS ${r.peakTreeRssMiB} MiB, PSS ${r.peakTreePssMiB} MiB, ` +
        `${r.peakProcesses} processes; verdicts ${JSON.stringify(r.verdicts)}; ` +
        `runtime ${JSON.stringify(r.runtimeStats)}`
    );
    expect(r.reasons).toEqual([]);
    expect(r.verdicts).toEqual({ COMPLETE: VIDEOS });
    expect(r.memorySamples).toBeGreaterThan(0);
  });
});
