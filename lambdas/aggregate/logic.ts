import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import {
  type AggregateInput,
  type AggregateOutput,
  BranchResultSchema,
  branchResultKey,
  type CostProfile,
  type Manifest,
  type ManifestBranch,
  ManifestBranchSchema,
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  manifestKey,
  PROCESSED_EVENT_ATTRIBUTES,
  PROCESSED_EVENT_TYPES,
  type RedriveRequest,
  type SegmentItemsRef,
  type VideoProcessedEvent,
} from '../../contract/index.js';
import { mapLimit } from '../../shared/concurrency.js';
import { LADDER_METADATA, type LadderWriter } from '../branch-kinds/hls.js';
import { logger, metrics } from '../shared/powertools.js';
import { getJsonIfExists, putBytes, putJson } from '../shared/s3.js';
import { publishEvent } from '../shared/sns.js';
import { emitTenantMetric, tenantDimensionOf } from '../shared/tenant-metrics.js';
import { estimateCost, videoUsage } from './cost.js';
import { publishHls } from './hls.js';
import {
  fanOutCounts,
  judge,
  manifestOf,
  type ResultLookup,
  resultIdsToRead,
  type SettledBranch,
  settledFromManifest,
} from './verdict.js';

/** Parallel S3 reads of branch results; enough to be fast, few enough not to trip SlowDown. */
export const READ_CONCURRENCY = 16;

/** Only the part of a previous manifest a redrive keeps: any schema version with `branches`. */
const PreviousManifestSchema = z.object({ branches: z.array(ManifestBranchSchema) });

/** The previous manifest's chains, for a redrive that names branches; undefined otherwise. */
const previousSettled = async (
  bucket: string,
  videoId: string,
  redrive: RedriveRequest | undefined
): Promise<SettledBranch[] | undefined> => {
  if (!redrive || redrive.branches === null) return undefined;
  const raw = await getJsonIfExists<unknown>(bucket, manifestKey(videoId));
  const parsed = PreviousManifestSchema.safeParse(raw);
  if (!parsed.success) {
    logger.warn(
      'Redrive without a readable previous manifest: only the redriven branches are listed',
      {
        redrive,
      }
    );
    return undefined;
  }
  return settledFromManifest(parsed.data.branches);
};

const readResult = async (bucket: string, videoId: string, id: string): Promise<ResultLookup> => {
  const raw = await getJsonIfExists<unknown>(bucket, branchResultKey(videoId, id));
  if (raw === undefined) return 'missing';
  const parsed = BranchResultSchema.safeParse(raw);
  return parsed.success ? parsed.data : 'unreadable';
};

/**
 * Each item of the Segments Distributed Map with the duration its record
 * gives (null: no readable record), so a segmented video's cost prices the
 * segment work, by far its largest part. One GET for the items file and one
 * per item, READ_CONCURRENCY at a time (a 1-hour source with three rungs:
 * about 480 small GETs, $0.0002). Nothing planned: an empty list.
 */
const segmentDurations = async (
  bucket: string,
  videoId: string,
  ref: SegmentItemsRef | undefined
): Promise<{ durations: (number | null)[]; reads: number }> => {
  if (!ref) return { durations: [], reads: 0 };
  const { key, count } = ref;
  const items = await getJsonIfExists<unknown>(bucket, key);
  const ids = z.array(z.object({ id: z.string() })).safeParse(items);
  // Unreadable items file: the count the plan gave, unmeasured (requests still counted).
  if (!ids.success) return { durations: new Array<null>(count).fill(null), reads: 1 };
  const found = await mapLimit(ids.data, READ_CONCURRENCY, ({ id }) =>
    readResult(bucket, videoId, id)
  );
  return {
    durations: found.map((r) => (typeof r === 'string' ? null : r.durationMs)),
    reads: 1 + ids.data.length,
  };
};

const stopwatch = (): (() => number) => {
  const started = performance.now();
  return () => performance.now() - started;
};

export interface AggregateOptions {
  outputBucket: string;
  topicArn: string;
  /** Memory and architecture of each function, from the stack; undefined: compute is not priced. */
  costProfile?: CostProfile;
  now?: () => Date;
  /** Milliseconds since the task started, for the aggregator's own share of the cost. */
  elapsedMs?: () => number;
}

/**
 * Fan-in: one manifest and one event per video, whatever path reached here.
 * The I/O around the pure verdict (verdict.ts): read the previous manifest and
 * the branch results, then write the manifest, publish and emit the metrics.
 */
export const aggregate = async (
  input: AggregateInput,
  {
    outputBucket,
    topicArn,
    costProfile,
    now = () => new Date(),
    elapsedMs = stopwatch(),
  }: AggregateOptions
): Promise<AggregateOutput> => {
  const { videoId, tenant, source } = input;
  const previous = await previousSettled(outputBucket, videoId, input.redrive);
  const ids = resultIdsToRead(input);
  const found = await mapLimit(ids, READ_CONCURRENCY, (id) =>
    readResult(outputBucket, videoId, id)
  );
  const verdict = judge(input, new Map(ids.map((id, i) => [id, found[i] ?? 'missing'])), previous);
  const { chains, status, reason } = verdict;
  // The multivariant playlist before the manifest that names it.
  const published = await publishHls(
    videoId,
    chains.flatMap((c) => c.results),
    (input.probe?.audioCodec ?? null) !== null,
    {
      readJson: (key) => getJsonIfExists<unknown>(outputBucket, key),
      writeText: (key, body, contentType) =>
        putBytes(outputBucket, key, Buffer.from(body), contentType, {
          [LADDER_METADATA]: 'final' satisfies LadderWriter,
        }),
    }
  );
  const segments = await segmentDurations(outputBucket, videoId, input.plan?.segments);
  // The aggregator's own share stops here: the manifest PUT and the publish are not in it.
  const cost = estimateCost(
    videoUsage({
      probeDurationMs: input.probe?.taskDurationMs ?? null,
      // Plan ran when the probe succeeded (it then either planned or failed).
      planDurationMs: input.plan
        ? (input.plan.taskDurationMs ?? null)
        : input.probe
          ? null
          : undefined,
      fannedOut: input.plan !== undefined,
      // The video stack's graph (MapFanOutFanIn preFanOut) has the SegmentsNeeded Choice.
      segmentsChoice: true,
      // Parallel mode runs the FanOut and the Segments map in one Wave (docs/segments.md).
      wave: input.policy?.mode === 'parallel',
      segments: segments.durations,
      segmentRecordsRead: segments.reads,
      chains,
      // VideoPlayable goes out once a delivered rendition is in the playlist (docs/hls.md).
      playable: published.hls !== null,
      resultsRead: ids.length + published.reads,
      aggregateDurationMs: elapsedMs(),
    }),
    costProfile
  );
  const manifest = manifestOf(input, verdict, cost, now(), published.hls);

  const key = manifestKey(videoId);
  // Manifest before event: a subscriber reacting to the event must find it.
  await putJson(outputBucket, key, manifest);

  const event: VideoProcessedEvent = {
    videoId,
    status,
    reason,
    source,
    manifest: { bucket: outputBucket, key },
  };
  // A retried aggregator publishes again with the same videoId; subscribers dedupe on it.
  await publishEvent(
    topicArn,
    event,
    {
      [PROCESSED_EVENT_ATTRIBUTES.status]: status,
      [PROCESSED_EVENT_ATTRIBUTES.type]: PROCESSED_EVENT_TYPES.processed,
    },
    `Publish ${videoId}`,
    tenant
  );

  emitVerdictMetrics(manifest, input.uploadedAt);
  logger.info('Video aggregated', { status, reason, counts: manifest.counts, manifestKey: key });
  return { videoId, status, reason, manifestKey: key };
};

/** The video's status count, its fan-out counts per kind and its upload → manifest latency. */
const emitVerdictMetrics = (manifest: Manifest, uploadedAt: string | undefined): void => {
  const { status, tenant } = manifest;
  const metricName =
    status === 'COMPLETE'
      ? METRIC_NAMES.videosCompleted
      : status === 'PARTIAL'
        ? METRIC_NAMES.videosPartial
        : METRIC_NAMES.videosFailed;
  // Once overall (the CLI's verdict totals, the alarms) and once per tenant (the dashboard).
  metrics.addMetric(metricName, MetricUnit.Count, 1);
  emitTenantMetric(metricName, MetricUnit.Count, 1, tenant);
  emitFanOutMetrics(manifest.branches, tenant);
  const latencyMs = uploadToManifestMs(uploadedAt, manifest.createdAt);
  if (latencyMs !== undefined) {
    emitTenantMetric(METRIC_NAMES.uploadToManifest, MetricUnit.Milliseconds, latencyMs, tenant);
  } else {
    logger.warn('Upload → manifest latency not measured: no usable upload time', {
      uploadedAt: uploadedAt ?? null,
    });
  }
};

/**
 * Milliseconds from the upload's S3 event time to the manifest write, or
 * undefined when the upload time is absent (an execution started by hand) or
 * unreadable; a clock skew that would make it negative counts as 0.
 */
export const uploadToManifestMs = (
  uploadedAt: string | undefined,
  manifestWrittenAt: string
): number | undefined => {
  const start = uploadedAt ? Date.parse(uploadedAt) : Number.NaN;
  const end = Date.parse(manifestWrittenAt);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  return Math.max(0, end - start);
};

/**
 * The fanOut counts per branch kind and tenant as EMF metrics (`FanOut<Count>`
 * with the dimensions `kind` and `tenant`): one metric set per kind, flushed here, since Powertools
 * keeps one dimension set per flush. Zeros are emitted too, so a dashboard's
 * ratio never divides by a missing point.
 */
export const emitFanOutMetrics = (entries: ManifestBranch[], tenant: string): void => {
  const kinds = [...new Set(entries.map((e) => e.kind))];
  for (const kind of kinds) {
    const counts = fanOutCounts(entries.filter((e) => e.kind === kind));
    const single = metrics.singleMetric();
    // Default dimensions, not addDimension: a single metric publishes (and clears its
    // dimensions) at each addMetric, so only the first count would carry the kind.
    single.setDefaultDimensions({
      [METRIC_DIMENSIONS.kind]: kind,
      [METRIC_DIMENSIONS.tenant]: tenantDimensionOf(tenant),
    });
    for (const [name, value] of Object.entries(counts)) {
      single.addMetric(`FanOut${name[0]?.toUpperCase()}${name.slice(1)}`, MetricUnit.Count, value);
    }
  }
};
