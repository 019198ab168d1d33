import '../helpers/env.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Branch,
  type BranchRef,
  type FanOutPolicy,
  policyProblems,
  type VideoStatus,
} from '../../contract/index.js';
import { emitFanOutMetrics } from '../../lambdas/aggregate/logic.js';
import {
  decideStatus,
  fanOutCounts,
  type ResultLookup,
  settleBranches,
} from '../../lambdas/aggregate/verdict.js';
import { metrics } from '../../lambdas/shared/powertools.js';
import { branchResultFactory } from '../helpers/factories.js';

/**
 * The policy's semantics, one row per combination. Each row gives the refs the
 * Map produced and the records the workers wrote; the expected status, reason
 * prefix and per-branch statuses are written out literally.
 */
const policyFactory = (overrides: Partial<FanOutPolicy> = {}): FanOutPolicy => ({
  mode: 'parallel',
  await: 'primary',
  maxInFlight: 10,
  kinds: {
    rendition: { role: 'primary' },
    thumbnail: { role: 'secondary' },
    metadata: { role: 'secondary' },
    'rendition-fallback': { fallbackFor: 'rendition' },
  },
  ...overrides,
});

const MAIN: Branch = { id: 'rendition-720p', kind: 'rendition', height: 720 };
const LOW: Branch = { id: 'rendition-360p', kind: 'rendition', height: 360, role: 'secondary' };
const THUMB: Branch = { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 320 };
const META: Branch = { id: 'metadata', kind: 'metadata' };
const PLAN = [THUMB, LOW, MAIN, META];

const ok = (b: Branch | { id: string; kind: string }): BranchRef => ({
  id: b.id,
  status: 'SUCCEEDED',
});
const failed = (b: Branch, error = 'MediaToolError'): BranchRef => ({
  id: b.id,
  status: 'FAILED',
  error,
});
const timedOut = (b: Branch, fallback?: BranchRef): BranchRef => ({
  id: b.id,
  status: 'FAILED',
  error: 'States.Timeout',
  ...(fallback && { fallback }),
});
const FALLBACK_ID = 'rendition-720p-fallback';

/** A worker record per ref, as the worker writes it (SUCCEEDED/FAILED), keyed by id. */
const recordsFor = (
  refs: BranchRef[],
  kinds: Record<string, string>
): Map<string, ResultLookup> => {
  const out = new Map<string, ResultLookup>();
  const add = (ref: BranchRef) => {
    if (ref.error !== 'States.Timeout' && ref.status !== 'SKIPPED') {
      out.set(
        ref.id,
        branchResultFactory(
          { id: ref.id, kind: kinds[ref.id] ?? 'rendition-fallback' },
          ref.status === 'SUCCEEDED'
            ? {}
            : {
                status: 'FAILED',
                artifacts: [],
                error: { name: ref.error ?? 'Error', message: 'boom' },
              }
        )
      );
    }
    if (ref.fallback) add(ref.fallback);
  };
  for (const r of refs) add(r);
  return out;
};

const KINDS = Object.fromEntries(PLAN.map((b) => [b.id, b.kind]));

interface Row {
  name: string;
  policy: FanOutPolicy;
  refs: BranchRef[];
  status: VideoStatus;
  reason: RegExp | null;
  branches: Record<string, string>;
}

const table: Row[] = [
  {
    name: 'await primary: everything succeeded → COMPLETE',
    policy: policyFactory(),
    refs: PLAN.map(ok),
    status: 'COMPLETE',
    reason: null,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'SUCCEEDED',
      'rendition-720p': 'SUCCEEDED',
      metadata: 'SUCCEEDED',
    },
  },
  {
    name: 'await primary: a secondary failed → PARTIAL, the failure reported',
    policy: policyFactory(),
    refs: [failed(THUMB, 'FrameNotFoundError'), ok(LOW), ok(MAIN), ok(META)],
    status: 'PARTIAL',
    reason: /^1 of 4 branches failed: thumb-01 \(FrameNotFoundError: boom\)$/,
    branches: {
      'thumb-01': 'FAILED',
      'rendition-360p': 'SUCCEEDED',
      'rendition-720p': 'SUCCEEDED',
      metadata: 'SUCCEEDED',
    },
  },
  {
    name: 'await primary: the primary fell back successfully → COMPLETE',
    policy: policyFactory(),
    refs: [ok(THUMB), ok(LOW), timedOut(MAIN, { id: FALLBACK_ID, status: 'SUCCEEDED' }), ok(META)],
    status: 'COMPLETE',
    reason: null,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'SUCCEEDED',
      'rendition-720p': 'TIMED_OUT',
      [FALLBACK_ID]: 'SUCCEEDED',
      metadata: 'SUCCEEDED',
    },
  },
  {
    name: 'await primary: the primary fell back and a secondary failed → PARTIAL',
    policy: policyFactory(),
    refs: [
      ok(THUMB),
      failed(LOW),
      timedOut(MAIN, { id: FALLBACK_ID, status: 'SUCCEEDED' }),
      ok(META),
    ],
    status: 'PARTIAL',
    reason: /^1 of 4 branches failed: rendition-360p \(MediaToolError: boom\)$/,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'FAILED',
      'rendition-720p': 'TIMED_OUT',
      [FALLBACK_ID]: 'SUCCEEDED',
      metadata: 'SUCCEEDED',
    },
  },
  {
    name: 'await primary: the primary and its fallback failed → FAILED',
    policy: policyFactory(),
    refs: [
      ok(THUMB),
      ok(LOW),
      { ...failed(MAIN), fallback: { id: FALLBACK_ID, status: 'FAILED', error: 'MediaToolError' } },
      ok(META),
    ],
    status: 'FAILED',
    reason:
      /^primary failed: rendition-720p and its fallback rendition-720p-fallback \(MediaToolError: boom\)/,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'SUCCEEDED',
      'rendition-720p': 'FAILED',
      [FALLBACK_ID]: 'FAILED',
      metadata: 'SUCCEEDED',
    },
  },
  {
    name: 'await primary: the primary failed with no fallback → FAILED even when secondaries succeeded',
    policy: policyFactory({ kinds: { rendition: { role: 'primary' } } }),
    refs: [ok(THUMB), ok(LOW), failed(MAIN), ok(META)],
    status: 'FAILED',
    reason: /^primary failed: rendition-720p \(MediaToolError: boom\)/,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'SUCCEEDED',
      'rendition-720p': 'FAILED',
      metadata: 'SUCCEEDED',
    },
  },
  {
    name: 'await all: one failure without a fallback → PARTIAL',
    policy: policyFactory({ await: 'all' }),
    refs: [ok(THUMB), ok(LOW), ok(MAIN), failed(META, 'MediaToolError')],
    status: 'PARTIAL',
    reason: /^1 of 4 branches failed: metadata/,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'SUCCEEDED',
      'rendition-720p': 'SUCCEEDED',
      metadata: 'FAILED',
    },
  },
  {
    name: 'await all: a failure with a successful fallback → COMPLETE',
    policy: policyFactory({ await: 'all' }),
    refs: [
      ok(THUMB),
      ok(LOW),
      { ...failed(MAIN), fallback: { id: FALLBACK_ID, status: 'SUCCEEDED' } },
      ok(META),
    ],
    status: 'COMPLETE',
    reason: null,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'SUCCEEDED',
      'rendition-720p': 'FAILED',
      [FALLBACK_ID]: 'SUCCEEDED',
      metadata: 'SUCCEEDED',
    },
  },
  {
    name: 'await all: every branch failed → FAILED',
    policy: policyFactory({ await: 'all', kinds: {} }),
    refs: PLAN.map((b) => failed(b)),
    status: 'FAILED',
    reason: /^4 of 4 branches failed/,
    branches: {
      'thumb-01': 'FAILED',
      'rendition-360p': 'FAILED',
      'rendition-720p': 'FAILED',
      metadata: 'FAILED',
    },
  },
  {
    name: 'await none: every branch SENT, failures reported but not judged → COMPLETE',
    policy: policyFactory({ await: 'none', kinds: { rendition: { role: 'primary' } } }),
    refs: [failed(THUMB), ok(LOW), ok(MAIN), ok(META)],
    status: 'COMPLETE',
    reason: null,
    branches: {
      'thumb-01': 'SENT',
      'rendition-360p': 'SENT',
      'rendition-720p': 'SENT',
      metadata: 'SENT',
    },
  },
  {
    name: 'fire-and-forget secondary: SENT and never decides, even when it failed',
    policy: policyFactory({
      kinds: { rendition: { role: 'primary' }, metadata: { role: 'fire-and-forget' } },
    }),
    refs: [ok(THUMB), ok(LOW), ok(MAIN), failed(META)],
    status: 'COMPLETE',
    reason: null,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'SUCCEEDED',
      'rendition-720p': 'SUCCEEDED',
      metadata: 'SENT',
    },
  },
  {
    name: 'sequential: the branches after a failure are SKIPPED with the reason; await all → PARTIAL',
    policy: policyFactory({ mode: 'sequential', await: 'all', maxInFlight: 1 }),
    refs: [
      ok(THUMB),
      failed(LOW),
      { id: MAIN.id, status: 'SKIPPED', error: 'sequence stopped: rendition-360p failed' },
      { id: META.id, status: 'SKIPPED', error: 'sequence stopped: rendition-360p failed' },
    ],
    status: 'PARTIAL',
    reason:
      /^3 of 4 branches failed: rendition-360p \(MediaToolError: boom\); rendition-720p \(Skipped: sequence stopped: rendition-360p failed\)/,
    branches: {
      'thumb-01': 'SUCCEEDED',
      'rendition-360p': 'FAILED',
      'rendition-720p': 'SKIPPED',
      metadata: 'SKIPPED',
    },
  },
];

describe('fan-out policy semantics (aggregator)', () => {
  it.each(table)('$name', ({ policy, refs, status, reason, branches }) => {
    // Prepare
    const records = recordsFor(refs, KINDS);
    const byId = new Map(refs.map((r) => [r.id, r]));
    // Act
    const chains = settleBranches(PLAN, byId, records, policy);
    const decided = decideStatus(chains, policy);
    // Assess
    expect(decided.status).toBe(status);
    if (reason === null) expect(decided.reason).toBeNull();
    else expect(decided.reason).toMatch(reason);
    const entries = chains.flatMap((c) => c.results);
    expect(Object.fromEntries(entries.map((e) => [e.id, e.status]))).toEqual(branches);
  });

  it('reports a fire-and-forget branch dispatched asynchronously as SENT before its worker has recorded anything', () => {
    // Prepare: the Map reported the metadata branch SENT (InvocationType Event); its worker is
    // still running, so there is no record for it yet.
    const policy = policyFactory({
      kinds: { rendition: { role: 'primary' }, metadata: { role: 'fire-and-forget' } },
    });
    const refs: BranchRef[] = [ok(THUMB), ok(LOW), ok(MAIN), { id: META.id, status: 'SENT' }];
    const records = recordsFor(refs.slice(0, 3), KINDS);
    // Act
    const chains = settleBranches(PLAN, new Map(refs.map((r) => [r.id, r])), records, policy);
    const decided = decideStatus(chains, policy);
    // Assess
    expect(decided).toEqual({ status: 'COMPLETE', reason: null });
    const meta = chains.flatMap((c) => c.results).find((e) => e.id === 'metadata');
    expect(meta).toEqual({
      id: 'metadata',
      kind: 'metadata',
      role: 'fire-and-forget',
      fallbackFor: null,
      status: 'SENT',
      artifacts: [],
      error: null,
      durationMs: null,
      finishedAt: null,
    });
    expect(fanOutCounts(chains.flatMap((c) => c.results))).toMatchObject({ sent: 4, failed: 0 });
  });

  it('ignores a late SUCCEEDED record from a timed-out origin and keeps the fallback in its place', () => {
    // Prepare: the origin's late run wrote SUCCEEDED after the state had recorded States.Timeout.
    const refs = [timedOut(MAIN, { id: FALLBACK_ID, status: 'SUCCEEDED' })];
    const records = new Map<string, ResultLookup>([
      [MAIN.id, branchResultFactory(MAIN)],
      [FALLBACK_ID, branchResultFactory({ id: FALLBACK_ID, kind: 'rendition-fallback' })],
    ]);
    // Act
    const [chain] = settleBranches(
      [MAIN],
      new Map(refs.map((r) => [r.id, r])),
      records,
      policyFactory()
    );
    // Assess
    expect(
      chain?.results.map((e) => [e.id, e.kind, e.role, e.fallbackFor, e.status, e.artifacts.length])
    ).toEqual([
      ['rendition-720p', 'rendition', 'primary', null, 'TIMED_OUT', 0],
      [
        'rendition-720p-fallback',
        'rendition-fallback',
        'primary',
        'rendition-720p',
        'SUCCEEDED',
        1,
      ],
    ]);
  });

  it('counts every attempt in fanOut: sent, succeeded, failed, timedOut, fellBack, skipped', () => {
    // Prepare
    const refs: BranchRef[] = [
      ok(THUMB),
      failed(LOW),
      timedOut(MAIN, { id: FALLBACK_ID, status: 'SUCCEEDED' }),
      { id: META.id, status: 'SKIPPED', error: 'sequence stopped' },
    ];
    const chains = settleBranches(
      PLAN,
      new Map(refs.map((r) => [r.id, r])),
      recordsFor(refs, KINDS),
      policyFactory()
    );
    // Act
    const counts = fanOutCounts(chains.flatMap((c) => c.results));
    // Assess
    expect(counts).toEqual({
      sent: 4,
      succeeded: 2,
      failed: 1,
      timedOut: 1,
      fellBack: 1,
      skipped: 1,
    });
  });
});

describe('fanOut EMF metrics', () => {
  afterEach(() => vi.restoreAllMocks());

  it('emits the fanOut counts per kind, with the kind as the dimension', () => {
    // Prepare
    const emitted: Array<{ kind?: string; metrics: Record<string, number> }> = [];
    vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
      const set: { kind?: string; metrics: Record<string, number> } = { metrics: {} };
      emitted.push(set);
      return {
        setDefaultDimensions: (dims: Record<string, string>) => {
          set.kind = dims.kind;
        },
        addMetric: (name: string, _unit: unknown, value: number) => {
          set.metrics[name] = value;
        },
      } as unknown as ReturnType<typeof metrics.singleMetric>;
    });
    const refs = [ok(THUMB), timedOut(MAIN, { id: FALLBACK_ID, status: 'SUCCEEDED' })];
    const chains = settleBranches(
      [THUMB, MAIN],
      new Map(refs.map((r) => [r.id, r])),
      recordsFor(refs, KINDS),
      policyFactory()
    );
    // Act
    emitFanOutMetrics(
      chains.flatMap((c) => c.results),
      'default'
    );
    // Assess
    const zero = {
      FanOutSent: 0,
      FanOutSucceeded: 0,
      FanOutFailed: 0,
      FanOutTimedOut: 0,
      FanOutFellBack: 0,
      FanOutSkipped: 0,
    };
    expect(emitted).toEqual([
      { kind: 'thumbnail', metrics: { ...zero, FanOutSent: 1, FanOutSucceeded: 1 } },
      { kind: 'rendition', metrics: { ...zero, FanOutSent: 1, FanOutTimedOut: 1 } },
      {
        kind: 'rendition-fallback',
        metrics: { ...zero, FanOutSent: 1, FanOutSucceeded: 1, FanOutFellBack: 1 },
      },
    ]);
  });
});

describe('policyProblems', () => {
  it('accepts the video pipeline default policy', () => {
    // Act
    const problems = policyProblems(policyFactory(), [
      'thumbnail',
      'rendition',
      'metadata',
      'rendition-fallback',
    ]);
    // Assess
    expect(problems).toEqual([]);
  });

  it('reports a three-kind cycle once, in order', () => {
    // Prepare
    const policy = policyFactory({
      kinds: {
        a: { role: 'primary' },
        b: { fallbackFor: 'c' },
        c: { fallbackFor: 'd' },
        d: { fallbackFor: 'b' },
      },
    });
    // Act
    const problems = policyProblems(policy, ['a', 'b', 'c', 'd']);
    // Assess
    expect(problems).toEqual(['fallback cycle: b → c → d → b']);
  });
});
