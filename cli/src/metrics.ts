import {
  BRANCH_OUTCOME_METRICS,
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  videoIdOfExecution,
} from '../../contract/index.js';
import { CliError } from './config.js';
import { formatDuration } from './format.js';
import { boxTable, NON_TTY_WIDTH, wrap } from './layout.js';

/**
 * The `metrics` view: the same per-kind and per-tenant figures as the
 * CloudWatch dashboard, computed from the same EMF records. On AWS CloudWatch
 * extracts them from the function logs; the local runtime keeps them and
 * serves them at GET /_local/metrics. The aggregation is pure, so it is tested
 * on records the functions' own code printed.
 */

/** One EMF record as the local runtime serves it. */
export interface EmfEntry {
  readonly function: string;
  readonly record: Record<string, unknown>;
}

/** One metric value with the dimensions of one of its record's dimension sets. */
export interface MetricPoint {
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly values: readonly number[];
}

interface MetricDirective {
  Namespace?: unknown;
  Dimensions?: unknown;
  Metrics?: unknown;
}

/**
 * Flattens EMF records into points, the way CloudWatch reads them: every
 * metric of a directive, once per dimension set, with the dimension values
 * taken from the record's top-level fields. Only `namespace` is read.
 */
export const pointsOf = (
  entries: readonly EmfEntry[],
  namespace = METRICS_NAMESPACE
): MetricPoint[] => {
  const points: MetricPoint[] = [];
  for (const { record } of entries) {
    const directives = (record._aws as { CloudWatchMetrics?: unknown } | undefined)
      ?.CloudWatchMetrics;
    if (!Array.isArray(directives)) continue;
    for (const d of directives as MetricDirective[]) {
      if (d.Namespace !== namespace) continue;
      const sets = Array.isArray(d.Dimensions) ? (d.Dimensions as unknown[][]) : [[]];
      const metrics = Array.isArray(d.Metrics) ? (d.Metrics as Array<{ Name?: unknown }>) : [];
      for (const metric of metrics) {
        if (typeof metric.Name !== 'string') continue;
        const raw = record[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter(
          (v): v is number => typeof v === 'number' && Number.isFinite(v)
        );
        if (values.length === 0) continue;
        for (const set of sets) {
          const dimensions: Record<string, string> = {};
          for (const name of set) {
            if (typeof name === 'string') dimensions[name] = String(record[name] ?? '');
          }
          points.push({ name: metric.Name, dimensions, values });
        }
      }
    }
  }
  return points;
};

/** Nearest-rank percentile (what CloudWatch reports for small samples); undefined when empty. */
export const percentile = (values: readonly number[], p: number): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
};

export interface KindTenantRow {
  readonly kind: string;
  readonly tenant: string;
  readonly emitted: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly durationP50Ms?: number;
  readonly durationP95Ms?: number;
}

export interface TenantRow {
  readonly tenant: string;
  /** Manifests whose upload → manifest latency was measured. */
  readonly manifests: number;
  readonly latencyP50Ms?: number;
  readonly latencyP95Ms?: number;
  readonly latencyMaxMs?: number;
  readonly heldBack: number;
}

export interface VerdictCounts {
  readonly complete: number;
  readonly partial: number;
  readonly failed: number;
}

/** One video's current verdict, as `list` shows it (its manifest's status). */
export interface VideoVerdict {
  readonly videoId: string;
  readonly status: string;
  /** When the verdict was written; the newest wins for one video. */
  readonly created: string;
}

export interface MetricsView {
  readonly byKindAndTenant: KindTenantRow[];
  readonly byTenant: TenantRow[];
  /** Videos by their latest verdict: a redriven video counts once, as `list` shows it. */
  readonly videos: VerdictCounts;
  /**
   * Verdicts written (the aggregator's Videos* metrics, the dashboard's figures): a redrive
   * writes the video's manifest again and counts again here.
   */
  readonly verdictsWritten: VerdictCounts;
  /** EMF records read, and records the runtime evicted (its store is bounded). */
  readonly records: number;
  readonly dropped: number;
}

/** A record without a tenant dimension (emitted before tenants existed). */
const NO_TENANT = '-';

/**
 * Counts videos by their latest verdict. A redrive (`<videoId>-redrive-<n>`) rewrites its
 * video's manifest, so its verdict is the same video's, and the newest verdict wins.
 */
export const latestVerdicts = (verdicts: readonly VideoVerdict[]): VerdictCounts => {
  const latest = new Map<string, VideoVerdict>();
  for (const v of verdicts) {
    const id = videoIdOfExecution(v.videoId);
    const seen = latest.get(id);
    if (!seen || v.created.localeCompare(seen.created) > 0) latest.set(id, v);
  }
  const count = (status: string) => [...latest.values()].filter((v) => v.status === status).length;
  return { complete: count('COMPLETE'), partial: count('PARTIAL'), failed: count('FAILED') };
};

const sum = (points: readonly MetricPoint[]): number =>
  points.reduce((n, p) => n + p.values.reduce((a, b) => a + b, 0), 0);

/**
 * Per (kind, tenant): the branch outcomes (the aggregator's FanOut* counts
 * from each manifest) and the workers' duration percentiles; per tenant: the
 * upload → manifest latency and the uploads held back by backpressure.
 * Only the point with exactly the expected dimension set counts, as a
 * CloudWatch query on that set would.
 */
export const metricsView = (
  entries: readonly EmfEntry[],
  dropped = 0,
  verdicts: readonly VideoVerdict[] = []
): MetricsView => {
  const points = pointsOf(entries);
  const { kind: KIND, tenant: TENANT, service: SERVICE } = METRIC_DIMENSIONS;
  const extra = (p: MetricPoint) => Object.keys(p.dimensions).filter((d) => d !== SERVICE);
  const kindPoints = points.filter((p) => extra(p).includes(KIND));
  const tenantOf = (p: MetricPoint) => p.dimensions[TENANT] ?? NO_TENANT;

  const kindKeys = new Map<string, { kind: string; tenant: string }>();
  for (const p of kindPoints) {
    const key = { kind: p.dimensions[KIND] ?? '', tenant: tenantOf(p) };
    kindKeys.set(`${key.kind}\u0000${key.tenant}`, key);
  }
  const byKindAndTenant = [...kindKeys.values()]
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.tenant.localeCompare(b.tenant))
    .map(({ kind, tenant }): KindTenantRow => {
      const mine = kindPoints.filter((p) => p.dimensions[KIND] === kind && tenantOf(p) === tenant);
      const named = (name: string) => mine.filter((p) => p.name === name);
      const durations = named(METRIC_NAMES.branchDuration).flatMap((p) => p.values);
      return {
        kind,
        tenant,
        emitted: sum(named(BRANCH_OUTCOME_METRICS.emitted)),
        succeeded: sum(named(BRANCH_OUTCOME_METRICS.succeeded)),
        failed: sum(named(BRANCH_OUTCOME_METRICS.failed)),
        timedOut: sum(named(BRANCH_OUTCOME_METRICS.timedOut)),
        durationP50Ms: percentile(durations, 50),
        durationP95Ms: percentile(durations, 95),
      };
    });

  const tenantPoints = points.filter((p) => {
    const dims = extra(p);
    return dims.length === 1 && dims[0] === TENANT;
  });
  const tenants = [...new Set(tenantPoints.map(tenantOf))].sort();
  const byTenant = tenants.map((tenant): TenantRow => {
    const mine = tenantPoints.filter((p) => tenantOf(p) === tenant);
    const latencies = mine
      .filter((p) => p.name === METRIC_NAMES.uploadToManifest)
      .flatMap((p) => p.values);
    return {
      tenant,
      manifests: latencies.length,
      latencyP50Ms: percentile(latencies, 50),
      latencyP95Ms: percentile(latencies, 95),
      latencyMaxMs: latencies.length > 0 ? Math.max(...latencies) : undefined,
      heldBack: sum(mine.filter((p) => p.name === METRIC_NAMES.uploadsHeldBack)),
    };
  });

  const plain = points.filter((p) => extra(p).length === 0);
  const total = (name: string) => sum(plain.filter((p) => p.name === name));
  return {
    byKindAndTenant,
    byTenant,
    videos: latestVerdicts(verdicts),
    verdictsWritten: {
      complete: total(METRIC_NAMES.videosCompleted),
      partial: total(METRIC_NAMES.videosPartial),
      failed: total(METRIC_NAMES.videosFailed),
    },
    records: entries.length,
    dropped,
  };
};

const ms = (v: number | undefined): string => (v === undefined ? '-' : formatDuration(v));

/** One of the view's tables as text cells: what `metrics` prints and the console shows. */
export interface MetricsTable {
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** The first `names` columns are names (they may wrap); the rest are figures. */
  readonly names: number;
}

/** The two tables of the view, with the CLI's own formatting of each figure. */
export const metricsTables = (
  view: MetricsView
): { byKindAndTenant: MetricsTable; byTenant: MetricsTable } => ({
  byKindAndTenant: {
    // Short heads keep the table narrow: sent = emitted (started).
    head: ['kind', 'tenant', 'sent', 'ok', 'failed', 'timed out', 'p50', 'p95'],
    rows: view.byKindAndTenant.map((r) => [
      r.kind,
      r.tenant,
      String(r.emitted),
      String(r.succeeded),
      String(r.failed),
      String(r.timedOut),
      ms(r.durationP50Ms),
      ms(r.durationP95Ms),
    ]),
    names: 2,
  },
  byTenant: {
    head: ['tenant', 'manifests', 'p50', 'p95', 'max', 'held back'],
    rows: view.byTenant.map((r) => [
      r.tenant,
      String(r.manifests),
      ms(r.latencyP50Ms),
      ms(r.latencyP95Ms),
      ms(r.latencyMaxMs),
      String(r.heldBack),
    ]),
    names: 1,
  },
});

/** `3 COMPLETE, 1 PARTIAL, 0 FAILED`. */
export const formatVerdictCounts = (c: VerdictCounts): string =>
  `${c.complete} COMPLETE, ${c.partial} PARTIAL, ${c.failed} FAILED`;

/** Figures never wrap; the kind and tenant names do when the screen is too narrow. */
const table = (t: MetricsTable, width: number): string =>
  boxTable(
    [...t.head],
    t.rows.map((r) => [...r]),
    width,
    t.head.map((_, i) => ({ keep: i >= t.names }))
  );

export const renderMetricsView = (view: MetricsView, width = NON_TTY_WIDTH): string => {
  const lines: string[] = [];
  const tables = metricsTables(view);
  lines.push(
    wrap(`Videos: ${formatVerdictCounts(view.videos)} (latest verdict of each video)`, width, 2)
  );
  lines.push(
    wrap(
      `Verdicts written: ${formatVerdictCounts(view.verdictsWritten)} (redrives included)`,
      width,
      2
    )
  );
  lines.push('', 'Branches per kind and tenant');
  lines.push(
    view.byKindAndTenant.length === 0
      ? '  (no branch metrics yet)'
      : table(tables.byKindAndTenant, width)
  );
  lines.push(
    '',
    wrap('Per tenant: upload → manifest latency, uploads held back by backpressure', width, 2)
  );
  lines.push(
    view.byTenant.length === 0 ? '  (no tenant metrics yet)' : table(tables.byTenant, width)
  );
  lines.push('', `${view.records} EMF records`);
  if (view.dropped > 0) {
    lines.push(
      wrap(
        `warning: the runtime evicted ${view.dropped} older records (its store is bounded)`,
        width,
        2
      )
    );
  }
  return lines.join('\n');
};

/** What GET /_local/metrics answers. */
interface EmfSnapshot {
  records: EmfEntry[];
  dropped: number;
}

/**
 * Reads the local runtime's EMF records. Anything else (AWS, LocalStack) has
 * no such endpoint: a clear error that says where the figures are there.
 */
export const fetchEmfRecords = async (
  endpoint: string | undefined,
  fetchFn: typeof fetch = fetch
): Promise<EmfSnapshot> => {
  const elsewhere =
    'on AWS CloudWatch extracts the same EMF records from the function logs: see the ' +
    'stack\'s dashboard (README "Dashboard and alarms")';
  if (!endpoint) {
    throw new CliError(
      `metrics reads the EMF records the local runtime keeps (GET /_local/metrics) and no local endpoint is configured; ${elsewhere}`
    );
  }
  const url = new URL('/_local/metrics', endpoint);
  const res = await fetchFn(url);
  if (res.status === 404) {
    throw new CliError(
      `${endpoint} has no /_local/metrics: it is not the local runtime (LocalStack keeps the ` +
        `function logs, but does not serve their EMF records); ${elsewhere}`
    );
  }
  if (!res.ok) throw new CliError(`GET ${url} answered ${res.status}`);
  const body = (await res.json()) as Partial<EmfSnapshot>;
  if (!Array.isArray(body.records)) throw new CliError(`GET ${url} returned no records array`);
  return { records: body.records, dropped: typeof body.dropped === 'number' ? body.dropped : 0 };
};
