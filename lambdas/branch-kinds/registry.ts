import * as z from 'zod/mini';
import {
  type Branch,
  InvalidEventError,
  InvalidVideoError,
  type Plan,
  type ProbeResult,
} from '../../contract/index.js';
import type { BranchKind, PlanConfig } from './kind.js';
import { metadata } from './metadata.js';
import { rendition, renditionFallback } from './rendition.js';
import { renditionSegment } from './rendition-segment.js';
import { thumbnail } from './thumbnail.js';

/**
 * Every branch kind, in plan order. Registering a kind here is all it takes
 * for the plan, the worker's dispatch, the schema union and the stack (one
 * Lambda function per kind, sized by the kind) to pick it up.
 */
export const BRANCH_KINDS = [
  thumbnail,
  rendition,
  metadata,
  renditionFallback,
  renditionSegment,
] as const;

export type BranchKindName = (typeof BRANCH_KINDS)[number]['kind'];
/** A branch of any registered kind, with its kind's parameters. */
export type AnyBranch = z.infer<(typeof BRANCH_KINDS)[number]['schema']>;

export const AnyBranchSchema = z.discriminatedUnion(
  'kind',
  BRANCH_KINDS.map((k) => k.schema) as unknown as [
    (typeof BRANCH_KINDS)[number]['schema'],
    ...(typeof BRANCH_KINDS)[number]['schema'][],
  ]
);

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
