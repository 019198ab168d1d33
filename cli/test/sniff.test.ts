import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assessVideo, sniffContainer, sniffFile } from '../src/sniff.js';

const ascii = (s: string) => Buffer.from(s, 'latin1');
const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);
const u8 = (...b: number[]) => Buffer.from(b);

/** n MPEG-TS packets of `size` bytes, each starting with the 0x47 sync byte. */
const tsPackets = (n: number, size = 188, lead = 0) => {
  const buf = Buffer.alloc(lead + n * size);
  for (let i = 0; i < n; i++) buf[lead + i * size] = 0x47;
  return buf;
};

describe('sniffContainer', () => {
  it.each([
    ['MP4 (ISO BMFF)', cat(u8(0, 0, 0, 0x20), ascii('ftypisom'), Buffer.alloc(20))],
    ['QuickTime (MOV)', cat(u8(0, 0, 0, 0x14), ascii('ftypqt  '), Buffer.alloc(8))],
    ['QuickTime (MOV)', cat(u8(0, 0, 0, 8), ascii('wide'), Buffer.alloc(8))],
    ['3GP', cat(u8(0, 0, 0, 0x14), ascii('ftyp3gp4'), Buffer.alloc(8))],
    ['Matroska', cat(u8(0x1a, 0x45, 0xdf, 0xa3), ascii('\x42\x82\x88matroska'))],
    ['WebM', cat(u8(0x1a, 0x45, 0xdf, 0xa3), ascii('\x42\x82\x84webm'))],
    ['AVI', cat(ascii('RIFF'), u8(1, 2, 3, 4), ascii('AVI LIST'))],
    ['FLV', cat(ascii('FLV'), u8(1, 5, 0, 0, 0, 9))],
    ['ASF (WMV)', u8(0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9)],
    ['Ogg', ascii('OggS\0\x02')],
    ['MPEG-PS', u8(0, 0, 1, 0xba, 0x44)],
    ['MPEG-TS', tsPackets(3)],
    ['MPEG-TS (M2TS)', tsPackets(3, 192, 4)],
  ])('recognizes %s', (expected, head) => {
    // Prepare
    const bytes = new Uint8Array(head);

    // Act
    const container = sniffContainer(bytes);

    // Assess
    expect(container).toBe(expected);
  });

  it.each([
    ['a WAVE file', cat(ascii('RIFF'), u8(1, 2, 3, 4), ascii('WAVEfmt '))],
    ['a PNG', u8(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)],
    ['plain text', ascii('hello, this is not a video at all')],
    ['a lone 0x47 byte', u8(0x47, 1, 2, 3)],
    [
      '0x47 without a second sync byte',
      (() => {
        const b = tsPackets(2);
        b[188] = 0;
        return b;
      })(),
    ],
  ])('does not recognize %s', (_what, head) => {
    // Prepare
    const bytes = new Uint8Array(head);

    // Act
    const container = sniffContainer(bytes);

    // Assess
    expect(container).toBeUndefined();
  });
});

describe('assessVideo', () => {
  it('has no warnings for a video extension with a matching signature', () => {
    // Prepare
    const head = cat(u8(0, 0, 0, 0x20), ascii('ftypisom'));

    // Act
    const result = assessVideo('clip.MP4', 1000, head);

    // Assess
    expect(result).toEqual({ container: 'MP4 (ISO BMFF)', extensionOk: true, warnings: [] });
  });

  it('warns about an empty file, but not about its signature', () => {
    // Prepare
    const head = new Uint8Array();

    // Act
    const result = assessVideo('empty.mp4', 0, head);

    // Assess
    expect(result.warnings).toEqual(['the file is empty (0 bytes)']);
  });

  it('warns about both the extension and the bytes of a text file', () => {
    // Prepare
    const head = ascii('just some notes');

    // Act
    const result = assessVideo('notes.txt', head.length, head);

    // Assess
    expect(result.warnings).toEqual([
      'extension .txt is not a video extension',
      'its first bytes match no known video container',
    ]);
  });

  it('warns about a missing extension even when the bytes look like a video', () => {
    // Prepare
    const head = cat(u8(0x1a, 0x45, 0xdf, 0xa3), ascii('webm'));

    // Act
    const result = assessVideo('recording', 100, head);

    // Assess
    expect(result.container).toBe('WebM');
    expect(result.warnings).toEqual(['the file name has no extension']);
  });
});

describe('sniffFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-sniff-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads only the head of a file and reports its size', async () => {
    // Prepare
    const path = join(dir, 'big.ts');
    await writeFile(path, tsPackets(100));

    // Act
    const result = await sniffFile(path);

    // Assess
    expect(result).toMatchObject({ size: 18_800, container: 'MPEG-TS', warnings: [] });
  });

  it('handles an empty file', async () => {
    // Prepare
    const path = join(dir, 'empty.mov');
    await writeFile(path, '');

    // Act
    const result = await sniffFile(path);

    // Assess
    expect(result).toMatchObject({ size: 0, container: undefined });
    expect(result.warnings).toContain('the file is empty (0 bytes)');
  });
});
