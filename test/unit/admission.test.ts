import '../helpers/env.js';
import { describe, expect, it, vi } from 'vitest';
import { emptyLedger, type Ledger, LedgerSchema } from '../../contract/index.js';
import {
  type AdmissionLimits,
  admit,
  prune,
  reconcile,
  refill,
  rejectionReason,
  release,
  takeToken,
} from '../../lambdas/start-workflow/admission.js';
import {
  LeaseGate,
  LedgerContended,
  type LedgerStore,
  releaseLease,
  updateLedger,
} from '../../lambdas/start-workflow/ledger.js';
import { stoppedExecution } from '../../lambdas/verdict-keeper/logic.js';

const T0 = Date.parse('2026-12-07T06:00:00.000Z');
const HOUR = 3_600_000;
const limits = (over: Partial<AdmissionLimits> = {}): AdmissionLimits => ({
  leaseMs: HOUR,
  ...over,
});
const leased = (entries: Array<[string, string, number?]>, now = T0): Ledger => ({
  version: 1,
  leases: Object.fromEntries(
    entries.map(([videoId, tenant, grantedAt]) => [
      videoId,
      { tenant, grantedAt: grantedAt ?? now, expiresAt: (grantedAt ?? now) + HOUR },
    ])
  ),
  buckets: {},
});

/**
 * A ledger object with S3's conditional-write rules: a write names the ETag it
 * read (If-Match) or none (If-None-Match: *) and fails when the object changed.
 * Every call yields first, so concurrent callers interleave between read and write.
 */
const memoryStore = () => {
  let body: string | undefined;
  let version = 0;
  const writes = { won: 0, lost: 0 };
  const store: LedgerStore = {
    async read() {
      await new Promise((r) => setImmediate(r));
      return body === undefined
        ? { ledger: emptyLedger(), etag: undefined }
        : { ledger: LedgerSchema.parse(JSON.parse(body)), etag: `"${version}"` };
    },
    async write(ledger, etag) {
      await new Promise((r) => setImmediate(r));
      const current = body === undefined ? undefined : `"${version}"`;
      if (etag !== current) {
        writes.lost++;
        return false;
      }
      body = JSON.stringify(ledger);
      version++;
      writes.won++;
      return true;
    },
  };
  return { store, writes, ledger: () => (body ? LedgerSchema.parse(JSON.parse(body)) : undefined) };
};

describe('token bucket', () => {
  it('starts full: a tenant may start its whole minute at once, then waits 60/rate seconds', () => {
    // Prepare
    let bucket: ReturnType<typeof takeToken>['bucket'] | undefined;
    const taken: boolean[] = [];

    // Act
    let last: ReturnType<typeof takeToken> | undefined;
    for (let i = 0; i < 7; i++) {
      last = takeToken(bucket, 6, T0);
      taken.push(last.ok);
      bucket = last.bucket;
    }

    // Assess
    expect(taken).toEqual([true, true, true, true, true, true, false]);
    expect(last).toMatchObject({ ok: false, waitMs: 10_000 });
  });

  it('refills at rate/60 tokens a second and never above one minute of them', () => {
    // Prepare
    const empty = { tokens: 0, at: T0 };

    // Act
    const after10s = refill(empty, 6, T0 + 10_000);
    const after2_5s = takeToken(empty, 6, T0 + 2_500);
    const afterAnHour = refill(empty, 6, T0 + HOUR);

    // Assess
    expect(after10s).toEqual({ tokens: 1, at: T0 + 10_000 });
    expect(after2_5s).toMatchObject({ ok: false, waitMs: 7_500 });
    expect(afterAnHour.tokens).toBe(6);
  });

  it('a clock behind the bucket (another starter) refills nothing and does not move it back', () => {
    // Prepare
    const bucket = { tokens: 0.5, at: T0 };

    // Act
    const behind = refill(bucket, 6, T0 - 30_000);

    // Assess
    expect(behind).toEqual({ tokens: 0.5, at: T0 });
  });
});

describe('admit', () => {
  it('grants a lease per start until the running bound, then names the bound', () => {
    // Prepare
    let ledger = emptyLedger();
    const decisions: string[] = [];

    // Act
    for (const videoId of ['a', 'b', 'c']) {
      const r = admit(ledger, { videoId, tenant: 'acme' }, limits({ bound: 2 }), T0);
      decisions.push(r.decision.verdict);
      ledger = r.ledger;
    }
    const over = admit(ledger, { videoId: 'c', tenant: 'acme' }, limits({ bound: 2 }), T0);

    // Assess
    expect(decisions).toEqual(['start', 'start', 'over-bound']);
    expect(Object.keys(ledger.leases)).toEqual(['a', 'b']);
    expect(ledger.leases.a).toEqual({ tenant: 'acme', grantedAt: T0, expiresAt: T0 + HOUR });
    expect(over.decision).toEqual({ verdict: 'over-bound', limit: 'running bound 2' });
    expect(rejectionReason('running bound 2')).toBe('rejected: over running bound 2');
  });

  it('holds a tenant to its quota while other tenants still start', () => {
    // Prepare
    const ledger = leased([
      ['a1', 'acme'],
      ['a2', 'acme'],
    ]);
    const quotas = { default: 5, tenants: { acme: 2 } };

    // Act
    const acme = admit(ledger, { videoId: 'a3', tenant: 'acme' }, limits({ quotas }), T0);
    const zeta = admit(ledger, { videoId: 'z1', tenant: 'zeta' }, limits({ quotas }), T0);

    // Assess
    expect(acme.decision).toEqual({ verdict: 'over-tenant-quota', limit: 'tenant quota 2 (acme)' });
    expect(zeta.decision).toEqual({ verdict: 'start', fresh: true });
  });

  it('checks the bound before the quota and the quota before the rate', () => {
    // Prepare
    const ledger = leased([['a1', 'acme']]);
    const all = limits({
      bound: 1,
      quotas: { default: 1 },
      rates: { default: 1 },
    });
    const noBound = limits({ quotas: { default: 1 }, rates: { default: 1 } });

    // Act
    const bound = admit(ledger, { videoId: 'a2', tenant: 'acme' }, all, T0);
    const quota = admit(ledger, { videoId: 'a2', tenant: 'acme' }, noBound, T0);

    // Assess
    expect(bound.decision.verdict).toBe('over-bound');
    expect(quota.decision.verdict).toBe('over-tenant-quota');
    // Neither spent the tenant's token.
    expect(bound.ledger.buckets).toEqual({});
    expect(quota.ledger.buckets).toEqual({});
  });

  it('spends a token per start and refuses past the rate, saying when the next is due', () => {
    // Prepare
    const rates = { default: 60, tenants: { acme: 2 } };
    let ledger = emptyLedger();
    const verdicts: string[] = [];
    let last: ReturnType<typeof admit> | undefined;

    // Act
    for (const videoId of ['a1', 'a2', 'a3']) {
      last = admit(ledger, { videoId, tenant: 'acme' }, limits({ rates }), T0);
      verdicts.push(last.decision.verdict);
      ledger = last.ledger;
    }
    const later = admit(ledger, { videoId: 'a3', tenant: 'acme' }, limits({ rates }), T0 + 30_000);

    // Assess
    expect(verdicts).toEqual(['start', 'start', 'over-rate-limit']);
    expect(last?.decision).toEqual({
      verdict: 'over-rate-limit',
      limit: 'rate limit 2/min (acme)',
      retryAfterMs: 30_000,
    });
    expect(later.decision).toEqual({ verdict: 'start', fresh: true });
  });

  it('a retried upload that holds a lease starts again without a new lease or token', () => {
    // Prepare
    const ledger = leased([['a1', 'acme']]);

    // Act
    const again = admit(
      ledger,
      { videoId: 'a1', tenant: 'acme' },
      limits({ bound: 1, rates: { default: 1 } }),
      T0
    );

    // Assess
    expect(again.decision).toEqual({ verdict: 'start', fresh: false });
    expect(again.ledger.leases).toEqual(ledger.leases);
    expect(again.ledger.buckets).toEqual({});
  });

  it('an expired lease no longer counts, and a full bucket is dropped from the ledger', () => {
    // Prepare
    const ledger: Ledger = {
      version: 1,
      leases: {
        old: { tenant: 'acme', grantedAt: T0 - 2 * HOUR, expiresAt: T0 - HOUR },
        live: { tenant: 'acme', grantedAt: T0, expiresAt: T0 + HOUR },
      },
      buckets: { acme: { tokens: 0, at: T0 - HOUR }, zeta: { tokens: 0, at: T0 } },
    };

    // Act
    const pruned = prune(ledger, T0, { default: 6 });
    const decision = admit(ledger, { videoId: 'new', tenant: 'acme' }, limits({ bound: 2 }), T0);

    // Assess
    expect(Object.keys(pruned.leases)).toEqual(['live']);
    expect(Object.keys(pruned.buckets)).toEqual(['zeta']);
    expect(decision.decision.verdict).toBe('start');
  });
});

describe('release and reconcile', () => {
  it('release removes one lease and says whether it was held', () => {
    // Prepare
    const ledger = leased([
      ['a', 'acme'],
      ['b', 'acme'],
    ]);

    // Act
    const first = release(ledger, 'a');
    const second = release(first.ledger, 'a');

    // Assess
    expect(first.released).toBe(true);
    expect(Object.keys(first.ledger.leases)).toEqual(['b']);
    expect(second.released).toBe(false);
  });

  it('reconcile releases leases whose execution is not RUNNING, keeping those younger than the grace', () => {
    // Prepare
    const ledger = leased([
      ['ended', 'acme', T0 - 120_000],
      ['running', 'acme', T0 - 120_000],
      ['just-started', 'acme', T0 - 5_000],
    ]);

    // Act
    const healed = reconcile(ledger, new Set(['running']), T0, 60_000);

    // Assess
    expect(healed.released).toEqual(['ended']);
    expect(Object.keys(healed.ledger.leases).sort()).toEqual(['just-started', 'running']);
  });

  it('a listing kept for a whole batch never releases a lease granted after it was taken', async () => {
    // Prepare: the clock moves 5 minutes between the listing and the next decision.
    const mem = memoryStore();
    let now = T0;
    const gate = new LeaseGate(
      mem.store,
      limits({ bound: 2 }),
      async () => new Set<string>(),
      60_000,
      () => now
    );
    await gate.take('a', 'acme');
    await gate.take('b', 'acme');
    const overAtT0 = await gate.take('c', 'acme'); // lists RUNNING (empty) at T0, leases too young
    now = T0 + 300_000;

    // Act: the same (stale) listing would call 'a' and 'b' ended if judged against now.
    const later = await gate.take('d', 'acme');

    // Assess
    expect(overAtT0.verdict).toBe('over-bound');
    expect(later.verdict).toBe('over-bound');
    expect(Object.keys(mem.ledger()!.leases).sort()).toEqual(['a', 'b']);
  });
});

describe('lease ledger under contention', () => {
  it('30 uploads admitted at once by concurrent starters: exactly the bound start', async () => {
    // Prepare
    const mem = memoryStore();
    const gates = Array.from(
      { length: 5 },
      () =>
        new LeaseGate(
          mem.store,
          limits({ bound: 10 }),
          async () => new Set<string>(),
          60_000,
          () => T0
        )
    );

    // Act
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => gates[i % 5]!.take(`v${i}`, 'acme'))
    );

    // Assess
    expect(decisions.filter((d) => d.verdict === 'start')).toHaveLength(10);
    expect(decisions.filter((d) => d.verdict === 'over-bound')).toHaveLength(20);
    expect(Object.keys(mem.ledger()!.leases)).toHaveLength(10);
    // The race happened: writers lost and decided again.
    expect(mem.writes.lost).toBeGreaterThan(0);
  });

  it('a released lease admits the next upload; per-tenant quotas hold under the same race', async () => {
    // Prepare
    const mem = memoryStore();
    const gate = new LeaseGate(
      mem.store,
      limits({ bound: 5, quotas: { default: 4, tenants: { noisy: 2 } } }),
      async () => new Set<string>(),
      60_000,
      () => T0
    );
    const ids = ['n1', 'n2', 'n3', 'q1', 'q2'];
    const first = await Promise.all(
      ids.map((v) => gate.take(v, v.startsWith('n') ? 'noisy' : 'quiet'))
    );
    // Which noisy upload loses the race varies; how many does not.
    const refused = ids.filter((_, i) => first[i]!.verdict !== 'start');
    const startedNoisy = ids.filter((v, i) => v.startsWith('n') && first[i]!.verdict === 'start');

    // Act
    const released = await releaseLease(mem.store, startedNoisy[0]!);
    const after = await gate.take(refused[0]!, 'noisy');

    // Assess
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^n/);
    expect(first.filter((d) => d.verdict === 'over-tenant-quota')).toHaveLength(1);
    expect(released).toBe(true);
    expect(after).toEqual({ verdict: 'start', fresh: true });
  });

  it('over the bound with leases of ended executions, the gate lists RUNNING once and frees them', async () => {
    // Prepare
    const mem = memoryStore();
    await mem.store.write(
      leased(
        [
          ['ended-1', 'acme', T0 - 300_000],
          ['ended-2', 'acme', T0 - 300_000],
          ['running', 'acme', T0 - 300_000],
        ],
        T0
      ),
      undefined
    );
    const listRunning = vi.fn(async () => new Set(['running']));
    const gate = new LeaseGate(mem.store, limits({ bound: 3 }), listRunning, 60_000, () => T0);

    // Act
    const a = await gate.take('new-1', 'acme');
    const b = await gate.take('new-2', 'acme');
    const c = await gate.take('new-3', 'acme');

    // Assess
    expect([a.verdict, b.verdict, c.verdict]).toEqual(['start', 'start', 'over-bound']);
    expect(listRunning).toHaveBeenCalledTimes(1);
    expect(Object.keys(mem.ledger()!.leases).sort()).toEqual(['new-1', 'new-2', 'running']);
  });

  it('a ledger that changes under every attempt ends in a retryable LedgerContended', async () => {
    // Prepare
    const store: LedgerStore = {
      read: async () => ({ ledger: emptyLedger(), etag: '"1"' }),
      write: async () => false,
    };

    // Act
    const attempt = updateLedger(store, (l) => ({ next: l, result: 1 }), {
      attempts: 3,
      random: () => 0,
    });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(LedgerContended);
    await expect(attempt).rejects.toMatchObject({ retryable: true });
  });
});

describe('the verdict keeper gives leases back', () => {
  const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:video';
  const event = (status: string, stateMachineArn = MACHINE) => ({
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:acme--clip-0123`,
      stateMachineArn,
      name: 'acme--clip-0123',
      status,
      startDate: T0,
      stopDate: T0 + 1000,
    },
  });

  it.each(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'])('on %s', (status) => {
    expect(stoppedExecution(event(status), MACHINE)).toBe('acme--clip-0123');
  });

  it('not while RUNNING, nor for another state machine or another event', () => {
    expect(stoppedExecution(event('RUNNING'), MACHINE)).toBeUndefined();
    expect(stoppedExecution(event('SUCCEEDED', `${MACHINE}-other`), MACHINE)).toBeUndefined();
    expect(stoppedExecution({ hello: 'world' }, MACHINE)).toBeUndefined();
  });
});
