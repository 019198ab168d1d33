import { describe, expect, it } from 'vitest';
import { clip, fitColumns, screenWidth, wrap } from '../src/layout.js';

const lines = (s: string) => s.split('\n');
/** Characters wrap may break a long token after. */
const BREAK = /[/\-.:_]$/;

describe('wrap', () => {
  it('breaks at spaces, keeps each line within the width and indents continuations', () => {
    // Prepare
    const text = 'manifest: PARTIAL (2/3 branches succeeded) — 1 of 3 branches failed';

    // Act
    const wrapped = wrap(text, 30, 2);

    // Assess
    expect(lines(wrapped)).toEqual([
      'manifest: PARTIAL (2/3',
      '  branches succeeded) — 1 of 3',
      '  branches failed',
    ]);
  });

  it('breaks a long S3 URL after a path character, never inside a word that fits', () => {
    // Prepare
    const url =
      's3://videopipeline-uploadbucket1a2b3c4d-9x8y7z6w5v4u/uploads/a-very-long-holiday-video-file-name-2026.mp4';

    // Act
    const wrapped = wrap(`uploading clip.mp4 to ${url}`, 40, 2);

    // Assess
    const out = lines(wrapped);
    expect(out.every((l) => l.length <= 40)).toBe(true);
    expect(out.slice(1).every((l) => l.startsWith('  '))).toBe(true);
    // Every line that ends inside the URL ends at a path character.
    expect(out.slice(0, -1).every((l) => BREAK.test(l) || l.endsWith('clip.mp4'))).toBe(true);
    expect(wrapped.replace(/\s+/g, '')).toBe(`uploading clip.mp4 to ${url}`.replace(/ /g, ''));
    expect(wrapped).toContain('uploadbucket1a2b3c4d-');
  });

  it('moves a token that fits on a line of its own rather than splitting it', () => {
    // Prepare
    const text = 'outputs: renditions/1080p-long-suffix.mp4 (1.2 MB)';

    // Act
    const wrapped = wrap(text, 40, 2);

    // Assess
    expect(lines(wrapped)).toEqual([
      'outputs:',
      '  renditions/1080p-long-suffix.mp4 (1.2',
      '  MB)',
    ]);
  });

  it('cuts mid-token only a token with no break character that is longer than a line', () => {
    // Prepare
    const text = `error ${'x'.repeat(25)}`;

    // Act
    const wrapped = wrap(text, 10);

    // Assess
    expect(lines(wrapped)).toEqual(['error', 'xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxx']);
  });

  it('keeps aligned spacing and each line’s own leading spaces', () => {
    // Prepare
    const text = '  ✓ thumb-01  thumbnail  succeeded\n  λ probe ×1: 0.8 GB-s (1024 MiB x86_64)';

    // Act
    const wrapped = wrap(text, 30, 4);

    // Assess
    expect(lines(wrapped)).toEqual([
      '  ✓ thumb-01  thumbnail',
      '    succeeded',
      '  λ probe ×1: 0.8 GB-s (1024',
      '    MiB x86_64)',
    ]);
  });
});

describe('fitColumns', () => {
  it('keeps natural widths that fit, and narrows the widest shrinkable column first', () => {
    // Prepare
    const natural = [20, 9, 40];
    const min = [8, 9, 8];

    // Act
    const roomy = fitColumns(natural, min, 100);
    const tight = fitColumns(natural, min, 60);

    // Assess
    expect(roomy).toEqual([20, 9, 40]);
    expect(tight).toEqual([20, 9, 31]);
  });

  it('never narrows a column below its minimum, even when the total cannot fit', () => {
    // Prepare
    const natural = [30, 12, 30];
    const min = [8, 12, 8];

    // Act
    const widths = fitColumns(natural, min, 20);

    // Assess
    expect(widths).toEqual([8, 12, 8]);
  });
});

describe('clip', () => {
  it('cuts at a space and marks the cut', () => {
    // Act
    const clipped = clip('not a readable video file (moov atom not found)', 30);

    // Assess
    expect(clipped).toBe('not a readable video file…');
  });
});

describe('screenWidth', () => {
  it.each([
    [{ isTTY: true, columns: 132 }, 132],
    [{ isTTY: true, columns: 60 }, 80],
    [{ isTTY: false, columns: 132 }, 80],
    [{}, 80],
  ])('%o is laid out at %i columns', (out, expected) => {
    // Act / Assess
    expect(screenWidth(out)).toBe(expected);
  });
});
