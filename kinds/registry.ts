import * as z from 'zod/mini';
import type { KindDescriptor } from './descriptor.js';
import * as registered from './registered.js';

type Registered = (typeof registered)[keyof typeof registered];

/**
 * Every branch kind, in plan order: the one list, read from registered.ts
 * (one `export … from` line per kind). The stack's functions, layer, policy,
 * playable kinds and Segments map, the schema union, the worker's dispatch,
 * the cost model and the CLI's state names all derive from it. The Lambdas
 * run a kind's declared command, or find its work by file name,
 * lambdas/branch-kinds/work/<kind>.ts.
 *
 * Plan order is each descriptor's `planOrder` (ties by kind name), not the
 * order of the lines, so no line's position matters: a module namespace lists
 * its keys sorted by name (https://tc39.es/ecma262/#sec-modulenamespacecreate),
 * and sequential mode needs thumbnails before the primary rendition.
 */
const DEFAULT_PLAN_ORDER = 100;
export const KINDS: readonly Registered[] = (Object.keys(registered) as (keyof typeof registered)[])
  // biome-ignore lint/performance/noDynamicNamespaceImportAccess: every export of registered.ts is a kind, all of them used
  .map((name): Registered => registered[name])
  .sort((a, b) => {
    const order = (k: Registered) => (k as { planOrder?: number }).planOrder ?? DEFAULT_PLAN_ORDER;
    return order(a) - order(b) || a.kind.localeCompare(b.kind);
  });

export type KindName = Registered['kind'];
/** A branch of any registered kind, with its kind's parameters. */
export type AnyBranch = z.infer<Registered['schema']>;

export const AnyBranchSchema = z.discriminatedUnion(
  'kind',
  KINDS.map((k) => k.schema) as unknown as [Registered['schema'], ...Registered['schema'][]]
);

const all: readonly KindDescriptor[] = KINDS;

/** The registered descriptor of a kind name, or undefined. */
export const descriptorOf = (kind: string): KindDescriptor | undefined =>
  all.find((k) => k.kind === kind);

/** Kinds whose delivered branch is a video variant: they write the early playlist and announce VideoPlayable. */
export const PLAYABLE_KINDS: readonly string[] = all.filter((k) => k.playable).map((k) => k.kind);

/** Kinds routed by the FanOut Map, in registry order. */
export const FAN_OUT_KINDS: readonly string[] = all
  .filter((k) => k.runBy === 'fan-out')
  .map((k) => k.kind);

const segmentKinds = all.filter((k) => k.runBy === 'segments').map((k) => k.kind);
if (segmentKinds.length !== 1) {
  throw new Error(
    `exactly one kind must be run by the Segments map; found ${segmentKinds.length} (${segmentKinds.join(', ')})`
  );
}
/** The kind the `Segments` Distributed Map runs, never the FanOut. */
export const SEGMENT_KIND: string = segmentKinds[0] as string;
