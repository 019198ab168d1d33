import { setTimeout as pause } from 'node:timers/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { emptyLedger, type Ledger, LedgerSchema, RetryableError } from '../../contract/index.js';
import { isConditionFailure, isNotFound, rethrowClassified } from '../../shared/aws-errors.js';
import { logger } from '../shared/powertools.js';
import {
  type AdmissionDecision,
  type AdmissionLimits,
  admit,
  reconcile,
  release,
} from './admission.js';

/**
 * The lease ledger's I/O: one JSON object in S3, read with its ETag and
 * written back only if it is unchanged (If-Match), or only if it does not
 * exist yet (If-None-Match: *). A writer that loses reads again and decides
 * again. https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 *
 * Its limits: every admission and release rewrites one object, so the
 * ledger serialises the starters and the verdict keeper (a lost race costs a
 * read and a write more); the object holds ~100 bytes per lease, so it suits
 * bounds in the thousands, not millions.
 */
export interface LedgerStore {
  read(): Promise<{ readonly ledger: Ledger; readonly etag: string | undefined }>;
  /** False when the condition did not hold: another writer changed the ledger first. */
  write(ledger: Ledger, etag: string | undefined): Promise<boolean>;
}

/** The ledger kept changing under us for every attempt: the message is retried later. */
export class LedgerContended extends RetryableError {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerContended';
  }
}

export const s3LedgerStore = (s3: S3Client, bucket: string, key: string): LedgerStore => ({
  async read() {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = await res.Body!.transformToString();
      const parsed = LedgerSchema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        // An unreadable ledger must not wedge admission: it is replaced (under If-Match, so
        // only once). Its leases are lost, so the bound may be overshot until they end.
        logger.error('Admission ledger unreadable; starting a new one', { bucket, key });
        return { ledger: emptyLedger(), etag: res.ETag };
      }
      return { ledger: parsed.data, etag: res.ETag };
    } catch (err) {
      if (err instanceof SyntaxError) return { ledger: emptyLedger(), etag: undefined };
      if (isNotFound(err)) return { ledger: emptyLedger(), etag: undefined };
      return rethrowClassified(err, `GetObject s3://${bucket}/${key}`);
    }
  },
  async write(ledger, etag) {
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: JSON.stringify(ledger),
          ContentType: 'application/json',
          ...(etag ? { IfMatch: etag } : { IfNoneMatch: '*' }),
        })
      );
      return true;
    } catch (err) {
      // 404 on If-Match: the ledger was deleted meanwhile; read again like any lost race.
      if (isConditionFailure(err) || (etag && isNotFound(err))) return false;
      return rethrowClassified(err, `PutObject s3://${bucket}/${key}`);
    }
  },
});

/**
 * Read, decide, write conditionally; again on a lost race, with a short
 * jittered pause, at most `attempts` times. `change` is pure and returns the
 * ledger to write, or none when nothing changes (then nothing is written).
 */
export const updateLedger = async <T>(
  store: LedgerStore,
  change: (ledger: Ledger) => { readonly next?: Ledger | undefined; readonly result: T },
  options: { readonly attempts?: number; readonly random?: () => number } = {}
): Promise<T> => {
  const attempts = options.attempts ?? 12;
  const random = options.random ?? Math.random;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const { ledger, etag } = await store.read();
    const { next, result } = change(ledger);
    if (!next || (await store.write(next, etag))) return result;
    await pause(Math.round(random() * 25 * Math.min(attempt, 8)));
  }
  throw new LedgerContended(`admission ledger changed under every one of ${attempts} attempts`);
};

/**
 * The starter's admission for one batch: a lease per started upload, decided
 * by admission.ts against the ledger. Over the bound or a quota it first
 * releases the leases of executions no longer RUNNING (reconcile, one
 * ListExecutions per batch at most), then decides once more.
 */
export class LeaseGate {
  /** One listing per batch, with when it was asked for: leases are judged against that moment. */
  private running?: Promise<{ readonly names: ReadonlySet<string>; readonly at: number }>;

  constructor(
    private readonly store: LedgerStore,
    private readonly limits: AdmissionLimits,
    private readonly listRunning: () => Promise<ReadonlySet<string>>,
    private readonly graceMs: number,
    private readonly now: () => number = Date.now
  ) {}

  async take(videoId: string, tenant: string): Promise<AdmissionDecision> {
    const request = { videoId, tenant };
    const first = await updateLedger(this.store, (ledger) => {
      const { decision, ledger: next } = admit(ledger, request, this.limits, this.now());
      return {
        next: decision.verdict === 'start' && decision.fresh ? next : undefined,
        result: decision,
      };
    });
    if (first.verdict === 'start' || first.verdict === 'over-rate-limit') return first;
    if (!this.running) {
      const at = this.now();
      this.running = this.listRunning().then((names) => ({ names, at }));
    }
    const running = await this.running;
    return updateLedger(this.store, (ledger) => {
      // A lease granted after the listing (or just before it) is not in it: kept.
      const healed = reconcile(ledger, running.names, running.at, this.graceMs);
      const { decision, ledger: next } = admit(healed.ledger, request, this.limits, this.now());
      if (healed.released.length > 0) {
        logger.warn('Leases released: their executions are no longer RUNNING', {
          released: healed.released,
        });
      }
      const changed =
        (decision.verdict === 'start' && decision.fresh) || healed.released.length > 0;
      return { next: changed ? next : undefined, result: decision };
    });
  }

  /** Gives `videoId`'s lease back (its execution did not start); true when it held one. */
  release(videoId: string): Promise<boolean> {
    return releaseLease(this.store, videoId);
  }
}

/** Releases one lease (the execution ended, or never started); true when it was held. */
export const releaseLease = (store: LedgerStore, videoId: string): Promise<boolean> =>
  updateLedger(store, (ledger) => {
    const r = release(ledger, videoId);
    return { next: r.released ? r.ledger : undefined, result: r.released };
  });
