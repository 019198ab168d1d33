import { readFileSync } from 'node:fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeStateMachineCommand,
  type HistoryEvent,
  ListExecutionsCommand,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  type AwsOptions,
  CliError,
  type Clients,
  collectList,
  collectMetrics,
  describeExecution,
  effectiveEndpoint,
  executionArnFor,
  executionsOf,
  formatUsd,
  formatVerdictCounts,
  isLocalEndpoint,
  type MetricsTable,
  metricsTables,
  readHistory,
  readManifest,
  readSegmentStage,
  resolveRegion,
  type StackOutputs,
  type StepState,
  useLocalTestCredentials,
} from '../../cli/src/index.js';
import { type Manifest, tenantProblem } from '../../contract/index.js';
import { NotFoundError } from './errors.js';
import { type Graph, graphFromDefinition, type StateRun, stateRunsFromHistory } from './graph.js';
import { checkArtifactKey, checkVideoId } from './keys.js';
import { type Timeline, timelineFromHistory } from './timeline.js';

/**
 * Every AWS call the console makes, on the server: the browser only ever sees
 * these results (no credentials, no SDK). Read-only except the upload route.
 */

export interface Target {
  outputs: StackOutputs;
  clients: Clients;
  sqs: SQSClient;
  /** Every `*QueueUrl` output of the stack, by output name. */
  queues: Record<string, string>;
}

/** The SQS client the CLI's S3/SFN clients would be, built from the same options. */
export const createSqsClient = (opts: AwsOptions, stateMachineArn: string): SQSClient => {
  const endpoint = effectiveEndpoint(opts);
  return new SQSClient({
    region: resolveRegion(opts, stateMachineArn),
    ...(opts.endpointUrl ? { endpoint: opts.endpointUrl } : {}),
    ...(opts.profile ? { profile: opts.profile } : {}),
    ...(useLocalTestCredentials(endpoint, opts)
      ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
      : {}),
    maxAttempts: 2,
  });
};

/** The queue URLs among a stack's outputs (the outputs file is the only inventory). */
export const queueUrlsOf = (outputsFile: string, stackName: string): Record<string, string> => {
  const doc = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  const values = doc[stackName] ?? {};
  return Object.fromEntries(
    Object.entries(values).filter(
      (e): e is [string, string] => e[0].endsWith('QueueUrl') && typeof e[1] === 'string'
    )
  );
};

export interface VideoRow {
  videoId: string;
  status: string;
  /** `ok/total`, or `-` while running. */
  branches: string;
  created: string;
  /** Execution wall time in ms (to now while running); absent with no execution. */
  durationMs?: number;
  /** The manifest's tenant; absent until the video has a manifest. */
  tenant?: string;
  /** The manifest's estimatedCostUsd, as the CLI prints it (`$0.000467`); absent without a manifest. */
  cost?: string;
}

export interface VideoList {
  videos: VideoRow[];
  /** Every tenant among the listed videos' manifests (the filter's choices), sorted. */
  tenants: string[];
  /** The tenant the list is filtered by, when one was asked for. */
  tenant?: string;
}

/** A tenant filter from the page (`?tenant=`): a tenant name as contract/tenant.ts defines it, else a 400. */
export const checkTenantFilter = (tenant: string): string => {
  const problem = tenantProblem(tenant);
  if (problem) throw new CliError(`tenant filter ${JSON.stringify(tenant)}: ${problem}`);
  return tenant;
};

/**
 * Recent videos (the CLI's `list`, so the same folders count as videos: see
 * isVideoFolder), plus each execution's duration, and each manifest's tenant and
 * cost. With `tenant`, only that tenant's videos (a video without a manifest has
 * no tenant yet, so it is left out of a filtered list).
 */
export const listVideos = async (
  t: Target,
  limit: number,
  tenant?: string,
  now = Date.now()
): Promise<VideoList> => {
  const ctx = {
    outputs: t.outputs,
    clients: t.clients,
    out: process.stdout,
    err: process.stderr,
  };
  const [all, executions] = await Promise.all([
    // Every video, so the filter's choices and a filtered list see past the first `limit`
    // (collectList reads every manifest before it cuts the list anyway).
    collectList(ctx, Number.POSITIVE_INFINITY),
    t.clients.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: t.outputs.stateMachineArn, maxResults: 100 })
    ),
  ]);
  const tenants = [...new Set(all.flatMap((r) => (r.tenant ? [r.tenant] : [])))].sort();
  const rows = (tenant ? all.filter((r) => r.tenant === tenant) : all).slice(0, limit);
  const byName = new Map((executions.executions ?? []).map((e) => [e.name, e]));
  const videos = rows.map(({ estimatedCostUsd, ...r }): VideoRow => {
    const e = byName.get(r.videoId);
    const start = e?.startDate?.getTime();
    const stop = e?.stopDate?.getTime() ?? now;
    return {
      ...r,
      ...(estimatedCostUsd !== undefined ? { cost: formatUsd(estimatedCostUsd) } : {}),
      ...(start !== undefined ? { durationMs: Math.max(0, stop - start) } : {}),
    };
  });
  return { videos, tenants, ...(tenant ? { tenant } : {}) };
};

/** The figures `npm run metrics` prints, as the CLI formats them (cli/src/metrics.ts). */
export interface MetricsPage {
  videos: string;
  verdictsWritten: string;
  byKindAndTenant: MetricsTable;
  byTenant: MetricsTable;
  records: number;
  dropped: number;
}

/**
 * The per-kind and per-tenant metrics: the CLI's `metrics` code (the local runtime's
 * EMF records, videos counted from their manifests), so both show the same figures.
 * Elsewhere than the local runtime its error says where the figures are (a 400).
 */
export const metricsPage = async (
  t: Target,
  fetchFn: typeof fetch = fetch
): Promise<MetricsPage> => {
  const view = await collectMetrics(
    { outputs: t.outputs, clients: t.clients, out: process.stdout, err: process.stderr },
    t.clients.endpoint,
    fetchFn
  );
  const tables = metricsTables(view);
  return {
    videos: formatVerdictCounts(view.videos),
    verdictsWritten: formatVerdictCounts(view.verdictsWritten),
    byKindAndTenant: tables.byKindAndTenant,
    byTenant: tables.byTenant,
    records: view.records,
    dropped: view.dropped,
  };
};

/**
 * The Segments Distributed Map of one run: its Map Run's item counts, each
 * rendition's segments (done, running, queued, failed) and join, and the audio
 * item. Read by the CLI's shared client (readSegmentStage), which the live view
 * of `status --watch` draws too.
 */
export interface SegmentsProgress {
  /** DescribeMapRun's status and itemCounts (one item per video segment and per audio part). */
  status: string;
  items: { total: number; succeeded: number; failed: number; running: number; pending: number };
  /** Per segmented rendition: the segment files written so far, of the planned count. */
  renditions: {
    id: string;
    written: number;
    total: number;
    running: number;
    queued: number;
    failed: number;
    join: StepState;
  }[];
  /** The audio (its parts, then their join); null when the source has no audio to encode. */
  audio: StepState | null;
  /** The audio's parts stored, of planned; null without audio. */
  audioParts: { done: number; total: number } | null;
  /** `unavailable`: the target could not list the Map Run's children, so per-rendition running/queued are unknown. */
  childExecutions: 'listed' | 'unavailable';
}

/** One execution of a video: the original (named after it) or a redrive (`<videoId>-redrive-<n>`). */
export interface RunView {
  name: string;
  status: string;
  error?: string;
  timeline: Timeline;
  segments?: SegmentsProgress;
}

/** The shared client's segment stage in the page's shape (its first Map Run's counts). */
const segmentsProgress = async (
  t: Target,
  videoId: string,
  events: readonly HistoryEvent[]
): Promise<SegmentsProgress | undefined> => {
  const stage = await readSegmentStage(t.clients, t.outputs.outputBucket, videoId, events);
  const run = stage?.mapRuns[0];
  if (!stage || !run) return undefined;
  return {
    status: run.status,
    items: run.items,
    renditions: stage.renditions.map((r) => ({
      id: r.id,
      written: r.done,
      total: r.total,
      running: r.running,
      queued: r.queued,
      failed: r.failed,
      join: r.join,
    })),
    audio: stage.audio,
    audioParts: stage.audioParts,
    childExecutions: stage.childExecutions,
  };
};

export interface VideoDetail {
  videoId: string;
  /** The latest run's execution (the original until a redrive starts a new one). */
  execution: { status: string; error?: string; cause?: string };
  /** The latest run's timeline. */
  timeline: Timeline;
  /** Every run, oldest first: a redriven video shows the original and each attempt. */
  runs: RunView[];
  manifest?: Manifest;
  /** The server's clock, so the page can draw running bars up to "now". */
  now: string;
}

export const videoDetail = async (t: Target, videoId: string): Promise<VideoDetail> => {
  checkVideoId(videoId);
  const executionArn = executionArnFor(t.outputs.stateMachineArn, videoId);
  // The CLI's own lookup (`redrive video` decides from it): the original, then
  // `-redrive-1`, `-2`… until one does not exist; newest first.
  const [execution, manifest, executions] = await Promise.all([
    describeExecution(t.clients.sfn, executionArn),
    readManifest(t.clients.s3, t.outputs.outputBucket, videoId),
    executionsOf(t.clients, t.outputs.stateMachineArn, videoId),
  ]);
  if (execution.status === 'NOT_FOUND' && !manifest && executions.length === 0) {
    throw new NotFoundError(
      `no such video: ${videoId} (no manifest in s3://${t.outputs.outputBucket}, no execution)`
    );
  }
  const runs: RunView[] = await Promise.all(
    [...executions].reverse().map(async (e) => {
      const events = await readHistory(t.clients.sfn, e.arn);
      const timeline = timelineFromHistory(events);
      const segments = timeline.segmentsMapRunArn
        ? await segmentsProgress(t, videoId, events)
        : undefined;
      return {
        name: e.name,
        status: e.status,
        ...(e.error ? { error: e.error } : {}),
        timeline,
        ...(segments ? { segments } : {}),
      };
    })
  );
  const latest = executions[0];
  return {
    videoId,
    execution:
      latest && latest.arn !== executionArn
        ? { status: latest.status, ...(latest.error ? { error: latest.error } : {}) }
        : execution,
    timeline: runs.at(-1)?.timeline ?? timelineFromHistory([]),
    runs,
    ...(manifest ? { manifest } : {}),
    now: new Date().toISOString(),
  };
};

/** The raw JSON behind the page: the execution history, as Step Functions returns it. */
export const rawHistory = async (t: Target, videoId: string): Promise<unknown> => {
  checkVideoId(videoId);
  const events = await readHistory(
    t.clients.sfn,
    executionArnFor(t.outputs.stateMachineArn, videoId)
  );
  if (events.length === 0) throw new NotFoundError(`no execution named ${videoId}`);
  return events;
};

export { NotFoundError };

/** A definition changes only with a deploy: read once per console process and state machine. */
const definitions = new Map<string, Promise<Graph>>();

/**
 * The execution graph of a video's latest run: the state machine's definition
 * (DescribeStateMachine) with each state's status, input, output and error.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachine.html
 */
export const executionGraph = async (
  t: Target,
  videoId: string
): Promise<{ execution: string; graph: Graph; states: Record<string, StateRun> }> => {
  checkVideoId(videoId);
  const arn = t.outputs.stateMachineArn;
  let graph = definitions.get(arn);
  if (!graph) {
    graph = t.clients.sfn
      .send(new DescribeStateMachineCommand({ stateMachineArn: arn }))
      .then((d) => graphFromDefinition(d.definition ?? '{}'));
    definitions.set(arn, graph);
    graph.catch(() => definitions.delete(arn));
  }
  const latest = (await executionsOf(t.clients, arn, videoId))[0];
  if (!latest) throw new NotFoundError(`no execution named ${videoId}`);
  const [g, events] = await Promise.all([graph, readHistory(t.clients.sfn, latest.arn)]);
  return { execution: latest.name, graph: g, states: stateRunsFromHistory(events) };
};

export interface QueueDepth {
  name: string;
  url: string;
  deadLetter: boolean;
  visible: number;
  inFlight: number;
  delayed: number;
  /** Set by the server on DLQs: whether `redrive dlq` can move it (a source queue names it). */
  redrivable?: boolean;
}

export const queueDepths = async (t: Target): Promise<QueueDepth[]> =>
  Promise.all(
    Object.entries(t.queues).map(async ([name, url]) => {
      const res = await t.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        })
      );
      const n = (k: string) => Number(res.Attributes?.[k as never] ?? 0);
      return {
        // A DLQ keeps the logical name `npm run redrive -- dlq` takes (StartWorkflowDeadLetterQueue).
        name: name.replace(/Url$/, '').replace(/(?<!DeadLetter)Queue$/, ''),
        url,
        deadLetter: /DeadLetter/i.test(name),
        visible: n('ApproximateNumberOfMessages'),
        inFlight: n('ApproximateNumberOfMessagesNotVisible'),
        delayed: n('ApproximateNumberOfMessagesDelayed'),
      };
    })
  );

export interface ArtifactStream {
  status: 200 | 206;
  headers: Record<string, string>;
  body: NodeJS.ReadableStream;
}

/** Proxies one artifact (Range passed through, so `<video>` can seek). */
export const getArtifact = async (
  t: Target,
  key: string,
  range: string | undefined
): Promise<ArtifactStream> => {
  const res = await t.clients.s3.send(
    new GetObjectCommand({
      Bucket: t.outputs.outputBucket,
      Key: checkArtifactKey(key),
      ...(range ? { Range: range } : {}),
    })
  );
  const headers: Record<string, string> = { 'accept-ranges': 'bytes' };
  if (res.ContentType) headers['content-type'] = res.ContentType;
  if (res.ContentLength !== undefined) headers['content-length'] = String(res.ContentLength);
  if (res.ContentRange) headers['content-range'] = res.ContentRange;
  return {
    status: res.ContentRange ? 206 : 200,
    headers,
    body: res.Body as NodeJS.ReadableStream,
  };
};

/** On AWS the browser fetches artifacts directly, with a URL valid for five minutes. */
export const presignArtifact = (t: Target, key: string): Promise<string> =>
  getSignedUrl(
    t.clients.s3,
    new GetObjectCommand({ Bucket: t.outputs.outputBucket, Key: checkArtifactKey(key) }),
    { expiresIn: 300 }
  );

/** Local emulators are proxied (their URLs may not be reachable from the browser's machine). */
export const proxiesArtifacts = (t: Target): boolean => isLocalEndpoint(t.clients.endpoint);
