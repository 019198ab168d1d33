import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/project.js';

/**
 * The glossary in docs/architecture.md names, for each concept, the code that is
 * that concept (issue 21 item 4). A rename that forgets the glossary fails here:
 * every identifier the "in the code" column names must still be declared or used
 * in the product code.
 */
const PRODUCT_DIRS = ['contract', 'kinds', 'lambdas', 'lib', 'cli/src', 'shared'];

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(REPO_ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(REPO_ROOT, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });

const glossaryRows = (): { word: string; code: string }[] => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.split('### Glossary')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter(
      (line) => line.startsWith('| ') && !line.startsWith('| word') && !line.startsWith('|---')
    )
    .map((line) => {
      const cells = line.split(' | ');
      return { word: cells[0]!.replace(/^\| /, ''), code: cells[2] ?? '' };
    });
};

describe('the glossary in docs/architecture.md', () => {
  it('defines each word of the vocabulary once', () => {
    // Act
    const words = glossaryRows().map((r) => r.word);
    // Assess
    expect(words).toEqual(
      expect.arrayContaining([
        'upload',
        'video',
        'branch',
        'kind',
        'segment',
        'rendition',
        'result',
        'verdict',
        'manifest',
        'tenant',
        'role',
        'fallback',
        'redrive',
      ])
    );
    expect(new Set(words).size).toBe(words.length);
  });

  it('names only identifiers that the product code still has', () => {
    // Prepare
    const code = PRODUCT_DIRS.flatMap(sourceFiles)
      .map((f) => readFileSync(join(REPO_ROOT, f), 'utf8'))
      .join('\n');
    const named = glossaryRows().flatMap((r) =>
      [...r.code.matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)].map((m) => ({ word: r.word, id: m[1]! }))
    );
    // Act
    const missing = named.filter(({ id }) => !new RegExp(`\\b${id}\\b`).test(code));
    // Assess
    expect(named.length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });
});
