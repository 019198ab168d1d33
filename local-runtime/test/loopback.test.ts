import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthFixture } from './fixtures/app.js';
import { type RuntimeProcess, startRuntimeProcess } from './helpers.js';

interface Listener {
  address: string;
  port: number;
  inode: string;
}

/** /proc/net/tcp{,6} hex addresses: IPv4 is one little-endian word, IPv6 four of them. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':');
}

const LISTEN = '0A';

/** Listening TCP sockets whose inode is one of the process's own socket fds. */
function listenersOf(pid: number): Listener[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // fd closed while listing
    }
  }
  const out: Listener[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [addrHex, portHex] = cols[1].split(':');
      if (cols[3] !== LISTEN || !inodes.has(cols[9])) continue;
      out.push({ address: decodeAddress(addrHex), port: parseInt(portHex, 16), inode: cols[9] });
    }
  }
  return out;
}

const isLoopback = (a: string) => a.startsWith('127.') || a === '0:0:0:0:0:0:0:1';

describe('listening sockets', { timeout: 120_000 }, () => {
  let dir: string;
  let rt: RuntimeProcess;

  beforeAll(async () => {
    // Prepare (shared): the runtime in its own process, so its sockets are its own.
    dir = mkdtempSync(path.join(tmpdir(), 'local-runtime-loopback-'));
    mkdirSync(path.join(dir, 'state'));
    synthFixture(path.join(dir, 'cdk.out'), path.join(dir, 'state'));
    rt = await startRuntimeProcess(path.join(dir, 'cdk.out'), { LOCAL_BIND_HOST: '' });
  }, 120_000);

  afterAll(async () => {
    await rt?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('binds every listener of the runtime to loopback', () => {
    // Act
    const listeners = listenersOf(rt.pid);

    // Assess: the endpoint and fauxqs behind it, and nothing on another address.
    expect(listeners.map((l) => l.port)).toContain(Number(new URL(rt.endpoint).port));
    expect(listeners.length).toBeGreaterThanOrEqual(2);
    expect(listeners.filter((l) => !isLoopback(l.address))).toEqual([]);
  });

  it('exposes only the endpoint when LOCAL_BIND_HOST asks for all interfaces', async () => {
    // Prepare
    const exposed = await startRuntimeProcess(path.join(dir, 'cdk.out'), {
      LOCAL_BIND_HOST: '0.0.0.0',
    });
    try {
      // Act
      const listeners = listenersOf(exposed.pid);

      // Assess: the detector sees the wildcard endpoint; fauxqs stays on loopback.
      const endpointPort = Number(new URL(exposed.endpoint).port);
      expect(listeners.filter((l) => !isLoopback(l.address))).toEqual([
        expect.objectContaining({ address: '0.0.0.0', port: endpointPort }),
      ]);
      expect(listeners.filter((l) => isLoopback(l.address)).length).toBeGreaterThanOrEqual(1);
    } finally {
      await exposed.stop();
    }
  });
});
