import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  type ExecutionStatus,
  type HistoryEvent,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import {
  AUDIO_PARTS_RELATIVE_PREFIX,
  artifactKey,
  audioItemRelativeKey,
  type Branch,
  STATE_NAMES,
  segmentRelativeKey,
} from '../../contract/index.js';
import { isNotFound } from './aws.js';
import { type LiveBranch, progressFromHistory } from './history.js';

/**
 * What a long video's segment stage is doing, per rendition: segments queued,
 * running, done and failed, the audio parts, and the join. The CLI's live view
 * and the console both draw it (the console through cli/src/index.ts).
 *
 * Sources, all published by AWS or by the pipeline's own files:
 * - done: the segment files under `_work/segments/<rendition id>/` (a file
 *   exists only once its segment was encoded and stored), and the audio part
 *   files under `_work/segments/audio-parts/`;
 * - running and failed: the Map Run's child executions (ListExecutions with the
 *   Map Run's ARN), each child's input naming its item (rendition and index);
 *   only the running and failed ones are described, each once per watch (a
 *   ChildCache), at most MAX_DESCRIBES_PER_POLL new ones a poll: never one
 *   call per segment per poll;
 * - queued: the planned count less the others (the audio parts: the Plan's
 *   item count less the video segments);
 * - the Map Run as a whole: DescribeMapRun's itemCounts;
 * - the join: the rendition branch's state in the execution history.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
 */

/** One step that is not a segment: the audio (its parts and their join), or a rendition's join. */
export type StepState = 'waiting' | 'queued' | 'running' | 'done' | 'failed';

export interface RenditionSegments {
  /** The rendition branch's id (`rendition-720p`). */
  id: string;
  height?: number;
  total: number;
  done: number;
  running: number;
  failed: number;
  /** Neither stored, running nor failed: waiting for a child execution. */
  queued: number;
  /** waiting (segments still to come), queued (all stored, the join not started), running, done, failed. */
  join: StepState;
}

export interface MapRunCounts {
  mapRunArn: string;
  status: string;
  items: { total: number; succeeded: number; failed: number; running: number; pending: number };
}

export interface SegmentStage {
  /** Every Map Run the execution started for segments (one per Segments map state). */
  mapRuns: MapRunCounts[];
  /**
   * Whether running and failed come from the Map Run's children (`listed`), or
   * the target could not list them (`unavailable`: both are 0, queued is every
   * segment not stored yet, and only the Map Run's counts tell what runs).
   */
  childExecutions: 'listed' | 'unavailable';
  renditions: RenditionSegments[];
  /**
   * The video's audio: done once its parts are joined (the file every rendition's join
   * muxes), else running, failed or queued from its items' child executions; null when the
   * source has no audio to encode.
   */
  audio: StepState | null;
  /** The audio's parts: stored of planned (`audio 3/4 parts`); null without audio. */
  audioParts: { done: number; total: number } | null;
}

export interface SegmentClients {
  s3: S3Client;
  sfn: SFNClient;
}

const FAILED_STATUSES: ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

/** The plan's segmented renditions, with their planned segment counts. */
export const segmentedRenditions = (
  plan: readonly Branch[] | undefined
): { id: string; height?: number; total: number }[] =>
  (plan ?? []).flatMap((b) => {
    const r = b as { segmentation?: { count?: unknown }; height?: unknown };
    return typeof r.segmentation?.count === 'number'
      ? [
          {
            id: b.id,
            ...(typeof r.height === 'number' && { height: r.height }),
            total: r.segmentation.count,
          },
        ]
      : [];
  });

/** Every Map Run the history shows started (MapRunStarted events), oldest first. */
export const mapRunArnsOf = (events: readonly HistoryEvent[]): string[] => [
  ...new Set(
    events.flatMap((e) =>
      e.mapRunStartedEventDetails?.mapRunArn ? [e.mapRunStartedEventDetails.mapRunArn] : []
    )
  ),
];

/** How many items the Plan wrote for the Segments map (`plan.segments.count`), when it did. */
export const segmentItemCount = (events: readonly HistoryEvent[]): number | undefined => {
  const out = events.find((e) => e.stateExitedEventDetails?.name === STATE_NAMES.plan)
    ?.stateExitedEventDetails?.output;
  try {
    const count = (JSON.parse(out ?? '') as { plan?: { segments?: { count?: unknown } } }).plan
      ?.segments?.count;
    return typeof count === 'number' ? count : undefined;
  } catch {
    return undefined;
  }
};

/** What a child execution's input names: the item it runs (`BRANCH_ITEM_SELECTOR`'s `branch`). */
export const itemOfChild = (input: string | undefined): { rendition?: string; audio: boolean } => {
  try {
    const item = (JSON.parse(input ?? '') as { branch?: { rendition?: unknown; track?: unknown } })
      .branch;
    return {
      ...(typeof item?.rendition === 'string' && { rendition: item.rendition }),
      audio: item?.track === 'audio',
    };
  } catch {
    return { audio: false };
  }
};

const childArns = async (
  sfn: SFNClient,
  mapRunArn: string,
  statusFilter: ExecutionStatus
): Promise<string[]> => {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ mapRunArn, statusFilter, nextToken }));
    for (const e of page.executions ?? []) if (e.executionArn) arns.push(e.executionArn);
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
};

type ChildItem = { rendition?: string; audio: boolean };
/** Child execution ARN → its item, kept across the polls of one watch. */
export type ChildCache = Map<string, ChildItem>;
/**
 * New children described per poll at most. DescribeExecution is throttled
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html);
 * with the cache a poll describes only children started since the last one.
 */
const MAX_DESCRIBES_PER_POLL = 25;

/** The items of the children listed with these statuses. */
const childItems = async (
  sfn: SFNClient,
  mapRunArns: readonly string[],
  statuses: ExecutionStatus[],
  known: ChildCache
): Promise<ChildItem[]> => {
  const arns = (
    await Promise.all(
      mapRunArns.flatMap((run) => statuses.map((status) => childArns(sfn, run, status)))
    )
  ).flat();
  // A child's item never changes: describe each child once per watch, and only so many per
  // poll (DescribeExecution is a throttled API; the rest are described on the next polls).
  const fresh = arns.filter((a) => !known.has(a)).slice(0, MAX_DESCRIBES_PER_POLL);
  await Promise.all(
    fresh.map(async (executionArn) => {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      known.set(executionArn, itemOfChild(d.input));
    })
  );
  return arns.flatMap((a) => {
    const item = known.get(a);
    return item ? [item] : [];
  });
};

/**
 * The running and failed children, or null when the target cannot list a Map
 * Run's children (ListExecutions by `mapRunArn`): LocalStack's provider has
 * failed ListExecutions without a state machine ARN
 * (https://github.com/localstack/localstack/issues/12669). Progress then
 * falls back to the files and DescribeMapRun's counts instead of failing.
 */
const listChildren = async (
  sfn: SFNClient,
  mapRunArns: readonly string[],
  known: ChildCache
): Promise<{ running: ChildItem[]; failed: ChildItem[] } | null> => {
  try {
    const [running, failed] = await Promise.all([
      childItems(sfn, mapRunArns, ['RUNNING'], known),
      childItems(sfn, mapRunArns, FAILED_STATUSES, known),
    ]);
    return { running, failed };
  } catch {
    return null;
  }
};

const countObjects = async (s3: S3Client, bucket: string, prefix: string): Promise<number> => {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })
    );
    count += page.KeyCount ?? page.Contents?.length ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return count;
};

/** The join's state from the rendition branch in the history and its segments. */
export const joinState = (
  branch: LiveBranch | undefined,
  segments: Pick<RenditionSegments, 'total' | 'done'>
): StepState => {
  if (branch?.status === 'running') return 'running';
  if (branch?.status === 'succeeded') return 'done';
  if (branch && branch.status !== 'skipped') return 'failed';
  return segments.done >= segments.total ? 'queued' : 'waiting';
};

/** Folds the counts into per-rendition lines (pure). */
export const segmentStage = ({
  renditions,
  stored,
  children,
  live,
  mapRuns,
  audio,
}: {
  renditions: readonly { id: string; height?: number; total: number }[];
  /** Segment files stored per rendition id. */
  stored: ReadonlyMap<string, number>;
  /** The Map Run's running and failed children, or null when they could not be listed. */
  children: { running: readonly ChildItem[]; failed: readonly ChildItem[] } | null;
  live: ReadonlyMap<string, LiveBranch>;
  mapRuns: MapRunCounts[];
  /**
   * Whether the audio is planned, whether the joined file is stored, and its parts: planned
   * (the items beyond the video segments; 1 for an items file from before the parts) and stored.
   */
  audio: { planned: boolean; stored: boolean; parts?: { total: number; stored: number } };
}): SegmentStage => {
  const running = children?.running ?? [];
  const failed = children?.failed ?? [];
  const parts = audio.parts;
  return {
    mapRuns,
    childExecutions: children ? 'listed' : 'unavailable',
    renditions: renditions.map((r) => {
      const done = Math.min(r.total, stored.get(r.id) ?? 0);
      const runningHere = running.filter((c) => c.rendition === r.id).length;
      const failedHere = failed.filter((c) => c.rendition === r.id).length;
      // A segment retried after a failure is counted once: the stored file wins.
      const runningN = Math.min(runningHere, r.total - done);
      const failedN = Math.min(failedHere, r.total - done - runningN);
      return {
        ...r,
        done,
        running: runningN,
        failed: failedN,
        queued: r.total - done - runningN - failedN,
        join: joinState(live.get(r.id), { total: r.total, done }),
      };
    }),
    audio: !audio.planned
      ? null
      : audio.stored
        ? 'done'
        : running.some((c) => c.audio)
          ? 'running'
          : failed.some((c) => c.audio)
            ? 'failed'
            : 'queued',
    audioParts:
      !audio.planned || !parts
        ? null
        : // The joined file stands for every part (an older whole-file item stores no part).
          {
            done: audio.stored ? parts.total : Math.min(parts.total, parts.stored),
            total: parts.total,
          },
  };
};

/**
 * Reads the segment stage of one execution from its history (the plan, the
 * Map Runs, the rendition branches) and the output bucket. Undefined when the
 * plan has no segmented rendition (or is not there yet).
 */
export const readSegmentStage = async (
  clients: SegmentClients,
  outputBucket: string,
  videoId: string,
  events: readonly HistoryEvent[],
  /** Pass the same map to every poll of one watch: each child is described once. */
  known: ChildCache = new Map()
): Promise<SegmentStage | undefined> => {
  const { plan, branches: live } = progressFromHistory(events);
  const renditions = segmentedRenditions(plan);
  if (renditions.length === 0) return undefined;
  const mapRunArns = mapRunArnsOf(events);
  const planned = segmentItemCount(events);
  const [stored, mapRuns, listed, audioStored, partsStored] = await Promise.all([
    Promise.all(
      renditions.map(
        async (r) =>
          [
            r.id,
            await countObjects(
              clients.s3,
              outputBucket,
              artifactKey(videoId, segmentRelativeKey(r.id, 0).replace(/[^/]+$/, ''))
            ),
          ] as const
      )
    ),
    Promise.all(
      mapRunArns.map(async (mapRunArn): Promise<MapRunCounts> => {
        const run = await clients.sfn.send(new DescribeMapRunCommand({ mapRunArn }));
        const c = run.itemCounts;
        const succeeded = c?.succeeded ?? 0;
        const failed = (c?.failed ?? 0) + (c?.timedOut ?? 0) + (c?.aborted ?? 0);
        const running = c?.running ?? 0;
        // The items file's size is known from the Plan; a Map Run may count only the items its
        // reader has handed out so far (LocalStack 4.14.0 counts the started ones), which would
        // print "0/2 items done" for a 9-item run. The rest are pending either way.
        const total = Math.max(c?.total ?? 0, mapRunArns.length === 1 ? (planned ?? 0) : 0);
        return {
          mapRunArn,
          status: run.status ?? 'UNKNOWN',
          items: {
            total,
            succeeded,
            failed,
            running,
            pending: Math.max(c?.pending ?? 0, total - succeeded - failed - running),
          },
        };
      })
    ),
    listChildren(clients.sfn, mapRunArns, known),
    countObjects(clients.s3, outputBucket, artifactKey(videoId, audioItemRelativeKey())).catch(
      (err: unknown) => {
        if (isNotFound(err)) return 0;
        throw err;
      }
    ),
    countObjects(clients.s3, outputBucket, artifactKey(videoId, AUDIO_PARTS_RELATIVE_PREFIX)).catch(
      (err: unknown) => {
        if (isNotFound(err)) return 0;
        throw err;
      }
    ),
  ]);
  // The Plan writes the audio items when the source has sound: the items beyond the segments.
  const audioItems = (planned ?? 0) - renditions.reduce((n, r) => n + r.total, 0);
  return segmentStage({
    renditions,
    stored: new Map(stored),
    children: listed,
    live,
    mapRuns,
    audio: {
      planned: audioStored > 0 || partsStored > 0 || audioItems > 0,
      stored: audioStored > 0,
      ...(audioItems > 0 && { parts: { total: audioItems, stored: partsStored } }),
    },
  });
};
