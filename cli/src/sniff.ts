import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { extensionOf, VIDEO_EXTENSIONS } from '../../contract/index.js';

/**
 * A cheap "does this look like a video?" check before uploading. It only
 * warns: empty files and non-videos are legitimate uploads that the pipeline
 * must reject with a FAILED manifest, so the CLI never refuses them.
 */

/** Bytes read from the start of the file; enough for every signature below. */
export const SNIFF_BYTES = 4096;

const ascii = (b: Uint8Array, at: number, text: string): boolean => {
  if (b.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text.charCodeAt(i)) return false;
  return true;
};

const bytes = (b: Uint8Array, at: number, sig: readonly number[]): boolean =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);

/** At least one whole packet, and every packet start seen (up to 3) is the 0x47 sync byte. */
const tsSync = (b: Uint8Array, offset: number, size: number): boolean => {
  if (b.length < offset + size) return false;
  for (let i = 0; i < 3; i++) {
    const at = offset + i * size;
    if (at < b.length && b[at] !== 0x47) return false;
  }
  return true;
};

const QUICKTIME_ATOMS = ['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'];

/** Names the container whose signature starts `head`, or undefined. */
export const sniffContainer = (head: Uint8Array): string | undefined => {
  if (ascii(head, 4, 'ftyp')) {
    const brand = String.fromCharCode(...head.subarray(8, 12));
    if (brand === 'qt  ') return 'QuickTime (MOV)';
    if (brand.startsWith('3g')) return '3GP';
    return 'MP4 (ISO BMFF)';
  }
  if (QUICKTIME_ATOMS.some((atom) => ascii(head, 4, atom))) return 'QuickTime (MOV)';
  if (bytes(head, 0, [0x1a, 0x45, 0xdf, 0xa3])) {
    const doc = String.fromCharCode(...head.subarray(0, 64));
    return doc.includes('webm') ? 'WebM' : 'Matroska';
  }
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'AVI ')) return 'AVI';
  if (ascii(head, 0, 'FLV') && head[3] === 0x01) return 'FLV';
  if (bytes(head, 0, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])) return 'ASF (WMV)';
  if (ascii(head, 0, 'OggS')) return 'Ogg';
  if (bytes(head, 0, [0x00, 0x00, 0x01, 0xba])) return 'MPEG-PS';
  if (bytes(head, 0, [0x00, 0x00, 0x01, 0xb3])) return 'MPEG video';
  if (head[0] === 0x47 && tsSync(head, 0, 188)) return 'MPEG-TS';
  if (head[4] === 0x47 && tsSync(head, 4, 192)) return 'MPEG-TS (M2TS)';
  return undefined;
};

export interface SniffResult {
  container: string | undefined;
  extensionOk: boolean;
  /** Human-readable reasons it may not be a video; empty when it looks fine. */
  warnings: string[];
}

/** Pure: judges a file from its name, size and first bytes. */
export const assessVideo = (name: string, size: number, head: Uint8Array): SniffResult => {
  const ext = extensionOf(name);
  const extensionOk = (VIDEO_EXTENSIONS as readonly string[]).includes(ext);
  const container = size > 0 ? sniffContainer(head) : undefined;
  const warnings: string[] = [];
  if (size === 0) warnings.push('the file is empty (0 bytes)');
  if (!extensionOk) {
    warnings.push(
      ext ? `extension .${ext} is not a video extension` : 'the file name has no extension'
    );
  }
  if (size > 0 && !container) warnings.push('its first bytes match no known video container');
  return { container, extensionOk, warnings };
};

/** Reads the head of a local file and assesses it. */
export const sniffFile = async (path: string): Promise<SniffResult & { size: number }> => {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.min(SNIFF_BYTES, size));
    if (buf.length > 0) await fh.read(buf, 0, buf.length, 0);
    return { ...assessVideo(basename(path), size, buf), size };
  } finally {
    await fh.close();
  }
};
