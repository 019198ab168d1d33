import { describe, expect, it } from 'vitest';
import {
  advance,
  constructOf,
  progressLine,
  render,
  START,
  type SynthProgress,
} from '../../local-runtime/src/synth-progress.js';

/** Lines as `cdk synth --quiet` writes them while bundling two functions. */
const TRANSCRIPT = [
  'Bundling asset VideoPipeline/Probe/Resource/Code/Stage...',
  '',
  '  ...35f25a9bb6dfc6666fec14ae-building/index.mjs  196.2kb',
  '',
  '⚡ Done in 99ms',
  'Bundling asset VideoPipeline/ThumbnailBranch/Resource/Code/Stage...',
  '  ...6381ebf71ee52ca2d02e52a8-building/index.mjs  209.8kb',
  '⚡ Done in 104ms',
];

const run = (lines: string[], start: SynthProgress = START) => lines.reduce(advance, start);

describe('synth progress', () => {
  it('names the construct a bundling line is about', () => {
    expect(constructOf('VideoPipeline/ThumbnailBranch/Resource/Code/Stage')).toBe(
      'ThumbnailBranch'
    );
    expect(constructOf('VideoPipeline/Fan/Out/Handler/Code/Stage')).toBe('Fan/Out/Handler');
  });

  it('counts bundles against the last synth and says when it is staging', () => {
    // Prepare
    const start = { ...START, expected: 2 };

    // Act
    const during = run(TRANSCRIPT.slice(0, 6), start);
    const after = run(TRANSCRIPT, start);

    // Assess
    expect(progressLine(start)).toBe('synthesizing: loading the app (bin/, lib/)…');
    expect(progressLine(during)).toBe('synthesizing: bundling ThumbnailBranch (2/2)…');
    expect(progressLine(after)).toBe(
      'synthesizing: writing the template and staging assets (the ffmpeg layer)…'
    );
  });

  it('counts without a total when no synth recorded one', () => {
    expect(progressLine(run(TRANSCRIPT.slice(0, 1)))).toBe('synthesizing: bundling Probe (1)…');
    expect(progressLine(run(TRANSCRIPT))).toBe('synthesizing: bundled 2…');
  });

  it('leaves the state unchanged for lines that say nothing', () => {
    const s = run(TRANSCRIPT.slice(0, 1));
    expect(advance(s, '  ...building/index.mjs  196.2kb')).toBe(s);
  });

  it('rewrites one line on a TTY, cut to the terminal width', () => {
    // Prepare
    const s = run(TRANSCRIPT.slice(0, 6), { ...START, expected: 9 });

    // Act
    const wide = render(s, undefined, { isTTY: true, columns: 120 });
    const narrow = render(s, undefined, { isTTY: true, columns: 20 });

    // Assess
    expect(wide.text).toBe('\r\x1b[2Ksynthesizing: bundling ThumbnailBranch (2/9)…');
    expect(narrow.text).toBe('\r\x1b[2Ksynthesizing: bund…');
    expect(narrow.text.length - '\r\x1b[2K'.length).toBe(19);
  });

  it('takes a terminal that reports no width (a bare pseudo-terminal) as 80 columns', () => {
    const s = run(TRANSCRIPT.slice(0, 1), { ...START, expected: 7 });
    expect(render(s, undefined, { isTTY: true, columns: 0 }).text).toBe(
      '\r\x1b[2Ksynthesizing: bundling Probe (1/7)…'
    );
  });

  it('writes plain lines when not a TTY, each step once', () => {
    // Prepare
    const s = run(TRANSCRIPT.slice(0, 1));

    // Act
    const first = render(s, undefined, { isTTY: false });
    const repeat = render(s, first.line, { isTTY: false });

    // Assess
    expect(first.text).toBe('synthesizing: bundling Probe (1)…\n');
    expect(first.text).not.toContain('\r');
    expect(repeat.text).toBe('');
  });
});
