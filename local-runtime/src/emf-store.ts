import type { Logger } from './logger.js';

/**
 * The embedded-metric-format records the functions print, kept for the CLI's
 * `metrics` command (GET /_local/metrics): on AWS, CloudWatch extracts them
 * from the logs; here nothing would. Stored as printed, so the CLI aggregates
 * exactly what CloudWatch would have received.
 */

export interface EmfEntry {
  /** The function's physical name (the runner's `[<function name>]` prefix). */
  readonly function: string;
  /** The record as the function printed it (has `_aws.CloudWatchMetrics`). */
  readonly record: Record<string, unknown>;
}

export interface EmfSnapshot {
  readonly records: readonly EmfEntry[];
  /** Records evicted because the store was full (oldest first): never silently. */
  readonly dropped: number;
}

/** A bound on memory for long-running sessions; the oldest records go first, and are counted. */
export const DEFAULT_EMF_LIMIT = 100_000;

const isEmf = (doc: unknown): doc is Record<string, unknown> => {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return false;
  const aws = (doc as { _aws?: { CloudWatchMetrics?: unknown } })._aws;
  return Array.isArray(aws?.CloudWatchMetrics);
};

export class EmfStore {
  private readonly records: EmfEntry[] = [];
  private dropped = 0;

  constructor(private readonly limit = DEFAULT_EMF_LIMIT) {}

  /** Keeps the line if it is `[<fn>] <EMF JSON>`; returns whether it did. */
  offer(line: string): boolean {
    const m = /^\[([^\]]+)\] (\{.*\})\s*$/s.exec(line);
    if (!m) return false;
    let doc: unknown;
    try {
      doc = JSON.parse(m[2] as string);
    } catch {
      return false;
    }
    if (!isEmf(doc)) return false;
    this.records.push({ function: m[1] as string, record: doc });
    if (this.records.length > this.limit) {
      this.records.shift();
      this.dropped++;
    }
    return true;
  }

  snapshot(): EmfSnapshot {
    return { records: [...this.records], dropped: this.dropped };
  }
}

/** The logger the Lambda runner writes function lines to, with every EMF line also stored. */
export const tapEmf = (inner: Logger, store: EmfStore): Logger => ({
  ...inner,
  info: (m) => {
    store.offer(m);
    inner.info(m);
  },
});
