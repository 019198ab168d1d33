import * as z from 'zod/mini';
import type { KindDescriptor } from './descriptor.js';
import { metadataKind } from './metadata.js';
import { renditionFallbackKind, renditionKind } from './rendition.js';
import { renditionSegmentKind } from './rendition-segment.js';
import { thumbnailKind } from './thumbnail.js';

/**
 * Every branch kind, in plan order: the one list. The stack's functions,
 * layer, policy, playable kinds and Segments map, the schema union, the
 * worker's dispatch, the cost model and the CLI's state names all derive
 * from it. The Lambdas find each entry's plan and ffmpeg work by its file
 * name, lambdas/branch-kinds/work/<kind>.ts: registering a kind is one line here.
 */
export const KINDS = [
  thumbnailKind,
  renditionKind,
  metadataKind,
  renditionFallbackKind,
  renditionSegmentKind,
] as const;

type Registered = (typeof KINDS)[number];
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
