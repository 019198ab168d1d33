import { LocalRuntimeError } from './errors.js';

/**
 * Fault injection for chaos tests, off unless asked for. S3 SlowDown: that
 * fraction of S3 requests through the endpoint is answered 503 SlowDown before
 * reaching storage, as S3 does under request-rate pressure. Set at start with
 * LOCAL_FAULT_S3_SLOWDOWN_RATE (0–1), or at run time through
 * `POST /_local/faults {"s3SlowDownRate": 0.1}` or `runtime.faults.s3SlowDownRate`.
 */
export class Faults {
  private rate = 0;
  /** Requests answered with SlowDown so far. */
  s3SlowDowns = 0;

  constructor(
    s3SlowDownRate: number | string | undefined = process.env.LOCAL_FAULT_S3_SLOWDOWN_RATE,
    private readonly random: () => number = Math.random
  ) {
    if (s3SlowDownRate !== undefined && s3SlowDownRate !== '') {
      this.s3SlowDownRate = Number(s3SlowDownRate);
    }
  }

  get s3SlowDownRate(): number {
    return this.rate;
  }

  set s3SlowDownRate(rate: number) {
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new LocalRuntimeError(`The S3 SlowDown rate must be between 0 and 1, got ${rate}`);
    }
    this.rate = rate;
  }

  /** Decides (and counts) whether this S3 request fails with 503 SlowDown. */
  slowDownS3(): boolean {
    if (this.rate === 0 || this.random() >= this.rate) return false;
    this.s3SlowDowns++;
    return true;
  }
}
