import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BranchRefSchema,
  CurrentPointerSchema,
  FanOutCountsSchema,
  MANIFEST_SCHEMA_VERSION,
  ManifestBranchStatusSchema,
  ManifestSchema,
  ManifestSegmentationSchema,
  RedriveRequestSchema,
  SegmentItemsRefSchema,
  TenantQuotasSchema,
  VideoPlayableEventSchema,
  VideoStatusSchema,
} from '../../contract/index.js';
import { REPO_ROOT } from '../../scripts/project.js';

/**
 * The numbers and field lists the docs state about the contract, checked against the code
 * (issue 21 item 5): a field added to a schema, or a version bump, fails here until the
 * sentence that lists it is updated. Counts that add nothing (how many alarms, functions,
 * DLQs) were removed from the docs instead of tested.
 */
const DOCS = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).map((f) => `docs/${f}`)].filter(
  (f) => f.endsWith('.md')
);
const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8').replace(/\s+/g, ' ');

type Shape = { shape: Record<string, unknown> };
const keysOf = (schema: unknown): string[] => {
  const s = schema as Shape & { def?: { innerType?: Shape } };
  return Object.keys(s.shape ?? s.def?.innerType?.shape ?? {});
};

/** `{ a, b: 1, c }` → [a, b, c]. */
const names = (list: string) =>
  list
    .split(',')
    .map((part) => part.trim().split(/[:\s]/)[0])
    .filter(Boolean);

/** The brace list that follows `anchor` in `file` (whitespace-insensitive). */
const listAfter = (file: string, anchor: string): string[] => {
  const text = read(file);
  const at = text.indexOf(anchor);
  if (at < 0) throw new Error(`${file} no longer says "${anchor}": update this test with the doc`);
  const match = /\{([^}]*)\}/.exec(text.slice(at + anchor.length));
  if (!match) throw new Error(`${file}: no { … } list after "${anchor}"`);
  return names(match[1]);
};

describe('the manifest schemaVersion in the docs', () => {
  it('is stated once, in docs/architecture.md, as the code’s MANIFEST_SCHEMA_VERSION', () => {
    // Act
    const stated = /The current manifest `schemaVersion` is (\d+)\./.exec(
      read('docs/architecture.md')
    );
    // Assess
    expect(stated, 'docs/architecture.md states the current schemaVersion').not.toBeNull();
    expect(
      Number(stated![1]),
      'MANIFEST_SCHEMA_VERSION changed: update "The current manifest `schemaVersion` is N." in docs/architecture.md'
    ).toBe(MANIFEST_SCHEMA_VERSION);
  });

  it('is not repeated elsewhere, where it would go stale', () => {
    const stale = DOCS.flatMap((file) =>
      [...read(file).matchAll(/schemaVersion`?:? ?\d+|manifest \(?v\d+\)?|Version \d+ added/gi)]
        .filter((m) => !(file === 'docs/architecture.md' && m[0].startsWith('schemaVersion` is')))
        .map((m) => `${file}: ${m[0]}`)
    );
    expect(stale).toEqual([]);
  });
});

describe('field lists in the docs', () => {
  it.each([
    ['docs/policies.md', '`fanOut:', keysOf(FanOutCountsSchema)],
    ['docs/policies.md', '`policy:', keysOf(ManifestSchema.shape.policy)],
    ['docs/operations.md', 'with input `redrive:', keysOf(RedriveRequestSchema)],
    [
      'docs/operations.md',
      'rewrites `manifest.json` with `redrive:',
      keysOf(ManifestSchema.shape.redrive),
    ],
    ['docs/operations.md', '/current.json` (`', keysOf(CurrentPointerSchema)],
    ['docs/architecture.md', 'the state carries only `', keysOf(BranchRefSchema)],
    ['docs/segments.md', 'the state keeps `', keysOf(SegmentItemsRefSchema)],
    ['docs/operations.md', 'JSON `', keysOf(TenantQuotasSchema)],
  ] as const)('%s after %s lists the schema’s fields', (file, anchor, fields) => {
    expect(listAfter(file, anchor)).toEqual(fields);
  });

  it('docs/policies.md gives the VideoPlayable body with every field of its schema', () => {
    expect(listAfter('docs/policies.md', 'The body is `')).toEqual(
      keysOf(VideoPlayableEventSchema)
    );
  });

  it('docs/architecture.md lists the segmentation fields of a manifest branch', () => {
    const text = read('docs/architecture.md');
    const match = /`segmentation` \(([^)]*)/.exec(text);
    expect(match).not.toBeNull();
    expect(match![1].match(/`(\w+)`/g)?.map((s) => s.slice(1, -1))).toEqual(
      keysOf(ManifestSegmentationSchema)
    );
  });

  it('docs/policies.md lists every branch status of the manifest', () => {
    const match = /a `status` of ([A-Z_, ]+) or ([A-Z_]+)/.exec(read('docs/policies.md'));
    expect(match).not.toBeNull();
    expect([...match![1].split(', '), match![2]]).toEqual(ManifestBranchStatusSchema.options);
  });

  it('docs/architecture.md lists every video status of the manifest', () => {
    const match = /the fan-in: status \(([A-Z, ]+)\)/.exec(read('docs/architecture.md'));
    expect(match).not.toBeNull();
    expect(match![1].split(', ')).toEqual(VideoStatusSchema.options);
  });
});
