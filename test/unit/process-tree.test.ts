import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { descendants, treeMemory } from '../../bench/process-tree.js';

// A child that touches 64 MiB and starts a grandchild, then waits: a tree of known shape and size.
const CHILD = `
const held = Buffer.alloc(64 * 1024 * 1024, 1);
const g = require('node:child_process').spawn('sleep', ['60'], { stdio: 'ignore' });
process.stdout.write(String(g.pid) + '\\n');
setInterval(() => held[0]++, 1000);
`;

describe('process tree memory (/proc)', () => {
  let child: ChildProcess | undefined;
  let grandchild: number | undefined;
  afterEach(() => {
    if (grandchild) process.kill(grandchild, 'SIGKILL');
    child?.kill('SIGKILL');
  });

  it('finds every descendant and sums their memory', async () => {
    // Prepare
    child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
    grandchild = await new Promise<number>((resolve) =>
      child!.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    );

    // Act
    const tree = descendants(process.pid);
    const sub = treeMemory(child.pid!);

    // Assess
    expect(tree).toContain(child.pid);
    expect(tree).toContain(grandchild);
    expect(tree[0]).toBe(process.pid);
    expect(sub.pids.sort()).toEqual([child.pid, grandchild].sort());
    // The 64 MiB the child touched are its own pages: in RSS and, unshared, in PSS.
    expect(sub.rssMiB).toBeGreaterThanOrEqual(64);
    expect(sub.pssMiB).toBeGreaterThanOrEqual(64);
    expect(sub.pssMiB).toBeLessThanOrEqual(sub.rssMiB);
  });
});
