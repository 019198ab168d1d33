import {
  type Branch,
  InvalidEventError,
  InvalidVideoError,
  type Plan,
  type ProbeResult,
} from '../../contract/index.js';
import { KINDS, type KindDescriptor } from '../../kinds/index.js';
import { commandWork } from './command-work.js';
import { importWork } from './find-work.js';
import type { BranchKind, PlanConfig } from './kind.js';

export {
  type AnyBranch,
  AnyBranchSchema,
  type KindName as BranchKindName,
} from '../../kinds/index.js';

/**
 * What one registered kind does: for a kind declared by its descriptor's
 * `command`, the generic runner (command-work.ts); otherwise the default
 * export of `./work/<kind>.ts`, found by file convention (find-work.ts).
 * kinds/registry.ts stays the one list, so a kind is registered there and
 * never listed again here.
 */
export const loadKindWork = async (descriptor: KindDescriptor): Promise<BranchKind> => {
  if (descriptor.command) return commandWork(descriptor);
  const where = `lambdas/branch-kinds/work/${descriptor.kind}.ts`;
  const module = await importWork(descriptor.kind).catch((e: unknown) => {
    throw new Error(
      `kind "${descriptor.kind}" is registered in kinds/registry.ts but declares no command and ${where} does not load: ${(e as Error).message}`
    );
  });
  const work = module.default as Partial<BranchKind> | undefined;
  if (
    work?.kind !== descriptor.kind ||
    typeof work.plan !== 'function' ||
    typeof work.run !== 'function'
  ) {
    throw new Error(
      `${where} must export by default the work of kind "${descriptor.kind}" (its descriptor spread, plan and run); found ${work ? `kind "${work.kind}"` : 'no default export'}`
    );
  }
  return work as BranchKind;
};

/** Every registered kind with its work, in registry order: kinds/registry.ts decides which. */
export const BRANCH_KINDS: readonly BranchKind[] = await Promise.all(KINDS.map(loadKindWork));

const byName = new Map<string, BranchKind>(BRANCH_KINDS.map((k) => [k.kind, k]));

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
  const branches: Branch[] = BRANCH_KINDS.flatMap((k) => k.plan(probe, config));
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
