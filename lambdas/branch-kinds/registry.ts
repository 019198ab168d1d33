import {
  type Branch,
  InvalidEventError,
  InvalidVideoError,
  type Plan,
  type ProbeResult,
} from '../../contract/index.js';
import { KINDS } from '../../kinds/index.js';
import type { BranchKind, PlanConfig } from './kind.js';
import { metadata } from './metadata.js';
import { rendition, renditionFallback } from './rendition.js';
import { renditionSegment } from './rendition-segment.js';
import { thumbnail } from './thumbnail.js';

export {
  type AnyBranch,
  AnyBranchSchema,
  type KindName as BranchKindName,
} from '../../kinds/index.js';

/**
 * What each registered kind does (its plan and its ffmpeg work), one entry
 * per descriptor of kinds/registry.ts and in the same order: the descriptor
 * list is the registry, this pairs it with the code only the Lambdas run.
 */
export const BRANCH_KINDS = [
  thumbnail,
  rendition,
  metadata,
  renditionFallback,
  renditionSegment,
] as const;

/** The handlers must match the descriptors one to one: a kind without its code fails at load. */
export const handlerMismatch = (
  handlers: readonly { kind: string }[],
  descriptors: readonly { kind: string }[]
): string | undefined => {
  const have = handlers.map((h) => h.kind).join(', ');
  const want = descriptors.map((d) => d.kind).join(', ');
  return have === want
    ? undefined
    : `lambdas/branch-kinds/registry.ts lists [${have}] but kinds/registry.ts describes [${want}]`;
};
const mismatch = handlerMismatch(BRANCH_KINDS, KINDS);
if (mismatch) throw new Error(mismatch);

const byName = new Map<string, BranchKind>(BRANCH_KINDS.map((k) => [k.kind, k as BranchKind]));

/** The registered kind of a branch; an unknown kind is a terminal InvalidEventError. */
export const kindOf = (branch: Pick<Branch, 'kind'>): BranchKind => {
  const kind = byName.get(branch.kind);
  if (!kind) {
    throw new InvalidEventError(
      `unknown branch kind "${branch.kind}" (known: ${[...byName.keys()].join(', ')})`
    );
  }
  return kind;
};

/**
 * The fan-out for one video: every kind's branches, in registry order. Pure.
 * Ids must be unique (they name S3 records and manifest entries).
 */
export const planBranches = (probe: ProbeResult, config: PlanConfig): Plan => {
  const branches: Branch[] = BRANCH_KINDS.flatMap((k) => (k as BranchKind).plan(probe, config));
  if (branches.length > config.maxBranches) {
    throw new InvalidVideoError(
      `plan has ${branches.length} branches, more than the limit of ${config.maxBranches} (too many thumbnail-times?)`
    );
  }
  const seen = new Set<string>();
  for (const b of branches) {
    if (seen.has(b.id)) throw new Error(`two planned branches share the id "${b.id}"`);
    seen.add(b.id);
  }
  return { branches };
};
