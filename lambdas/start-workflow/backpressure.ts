import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { RetryableError } from '../../contract/errors.js';
import type { TenantQuotas } from '../../contract/tenant.js';
import { rethrowClassified } from '../../shared/aws-errors.js';
import { decideStart, type RunningCount, type StartDecision } from './tenant-quota.js';

/**
 * Backpressure for the starter: at most `bound` executions RUNNING at once.
 *
 * Counting: one ListExecutions(RUNNING, maxResults = bound) per SQS batch, not a
 * counter. A counter (DynamoDB, SSM) must be decremented on every way an
 * execution ends, including timeouts, aborts and redrives, and a missed
 * decrement blocks uploads forever; the list is the truth and heals itself.
 * It costs one call per batch of up to 10 uploads (ListExecutions allows a
 * burst of 100, then 2/s: far above what 5 starters issue) and never pages:
 * `maxResults = bound` answers "at least bound running?" with one page.
 * It is eventually consistent, so executions started a moment ago may be
 * missing: the bound is soft by at most (ESM maxConcurrency × batch size).
 */
export class WorkflowsAtCapacity extends RetryableError {
  constructor(message: string) {
    super(message);
    this.name = 'WorkflowsAtCapacity';
  }
}

/** Held back because the upload's tenant is at its quota (tenant-quota.ts); waits like the bound. */
export class TenantOverQuota extends WorkflowsAtCapacity {
  constructor(message: string) {
    super(message);
    this.name = 'TenantOverQuota';
  }
}

/**
 * Held back because the upload's tenant has no token left this minute
 * (admission.ts takeToken); waits at least until its next token is due.
 */
export class TenantRateLimited extends WorkflowsAtCapacity {
  constructor(
    message: string,
    /** When the tenant's next token is due. */
    public readonly retryAfterSeconds: number
  ) {
    super(message);
    this.name = 'TenantRateLimited';
  }
}

export const countRunning = async (
  sfn: SFNClient,
  stateMachineArn: string,
  bound: number
): Promise<number> => {
  try {
    const res = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: bound })
    );
    return res.executions?.length ?? 0;
  } catch (err) {
    return rethrowClassified(err, `ListExecutions ${stateMachineArn}`);
  }
};

/**
 * Start slots for one batch: RUNNING executions counted once (lazily, so a
 * batch of test events costs nothing), then each upload is decided against
 * the global bound and its tenant's quota, counting what this batch already
 * started. `take` is synchronous after the count resolves, so two records
 * cannot take the same slot.
 */
export class StartBudget {
  private running?: Promise<RunningCount>;
  private readonly started = { total: 0, byTenant: new Map<string, number>() };

  constructor(
    private readonly limits: { readonly bound?: number; readonly quotas?: TenantQuotas },
    private readonly count: () => Promise<RunningCount>
  ) {}

  async take(tenant: string): Promise<StartDecision> {
    this.running ??= this.count();
    const running = await this.running;
    const decision = decideStart({ tenant, running, startedInBatch: this.started, ...this.limits });
    if (decision === 'start') {
      this.started.total++;
      this.started.byTenant.set(tenant, (this.started.byTenant.get(tenant) ?? 0) + 1);
    }
    return decision;
  }
}

/**
 * How long a message over the bound stays invisible before its next try:
 * exponential in its receive count, capped, with full jitter so a burst does
 * not return as a burst. Between `baseSeconds` and the cap.
 */
export const backoffSeconds = (
  receiveCount: number,
  baseSeconds: number,
  maxSeconds: number,
  random: () => number = Math.random
): number => {
  const ceiling = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, receiveCount - 1));
  return Math.round(baseSeconds + random() * Math.max(0, ceiling - baseSeconds));
};
