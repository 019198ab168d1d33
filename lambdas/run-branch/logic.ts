import { stat } from 'node:fs/promises';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type Artifact,
  type BranchInput,
  type BranchRef,
  type BranchResult,
  branchResultKey,
  branchRole,
  chainIds,
  FALLBACK_INCOMPLETE,
  METRIC_DIMENSIONS,
  MediaToolError,
  PROCESSED_EVENT_ATTRIBUTES,
  PROCESSED_EVENT_TYPES,
  type VideoPlayableEvent,
} from '../../contract/index.js';
import type { RenditionBranch, RenditionSegmentBranch } from '../../kinds/index.js';
import { mapLimit } from '../../shared/concurrency.js';
import { kindOf, type Produced, type TimeBudget } from '../branch-kinds/index.js';
import {
  audioItem,
  audioPartKeys,
  isAudioPart,
  missingPartsMessage,
} from '../branch-kinds/work/rendition-segment.js';
import { pinHttpInput, tallyTools } from '../shared/media.js';
import { flushMetrics, logger, metrics } from '../shared/powertools.js';
import {
  assertSourceUnchanged,
  getJsonIfExists,
  getTextIfExists,
  headIfExists,
  listKeys,
  presignSource,
  putBytes,
  putFile,
  putJson,
  putJsonIfAbsent,
  putTextIfUnchanged,
} from '../shared/s3.js';
import { publishEvent } from '../shared/sns.js';
import { pinnedReadHeaders } from '../shared/source-pin.js';
import { tenantDimensionOf } from '../shared/tenant-metrics.js';
import { withTempDir } from '../shared/tmp.js';
import { parseEvent } from '../shared/validate.js';
import {
  audioJoinState,
  audioPartsOf,
  type EarlyJoinIo,
  readyToJoin,
  renditionBranchOf,
  renditionsTouchedBy,
} from './early-join.js';
import {
  claimPlayable,
  type EarlyPlaylistIo,
  recordPublished,
  VARIANT_KINDS,
  writeEarlyPlaylist,
} from './early-playlist.js';
import { type BranchPhases, emptyPhases, PHASES_METADATA, roundedPhases, timed } from './phases.js';

const ERROR_MESSAGE_LIMIT = 500;
/** The message that travels in the state (Catch → Cause); details live in the S3 record. */
const THROWN_MESSAGE_LIMIT = 200;

const truncate = (s: string, max: number): string =>
  s.length > max ? `${s.slice(0, max - 1)}…` : s;

const upload = async (bucket: string, item: Produced): Promise<Artifact> => {
  if (item.stored) {
    const bytes = 'body' in item ? item.body.length : (await stat(item.path)).size;
    return { key: item.key, contentType: item.contentType, bytes };
  }
  if ('body' in item) {
    await putBytes(bucket, item.key, item.body, item.contentType);
    return { key: item.key, contentType: item.contentType, bytes: item.body.length };
  }
  const bytes = await putFile(bucket, item.key, item.path, item.contentType);
  return { key: item.key, contentType: item.contentType, bytes };
};

/**
 * Uploads of one branch in flight at once. A rendition stores about twenty
 * small files (the MP4, each HLS track's init section, segments and
 * playlist); one after another they cost a round trip each on the critical
 * path. S3 takes thousands of PUTs a second per prefix, so eight is far from
 * any limit, and leaves sockets in the SDK's pool (50) for lib-storage's parts.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html
 */
export const UPLOAD_CONCURRENCY = 8;

const isPlaylist = (item: Produced): boolean => item.key.endsWith('.m3u8');

/**
 * The order of a branch's uploads, in waves (each wave's files side by side,
 * a wave only after the previous one is all in S3): first every file a
 * playlist may name, then the playlists, so a playlist in S3 never names a
 * segment that is not (hls.ts's packagedFiles keeps them last for the same
 * reason). The branch record is written after both, by the caller.
 */
export const uploadWaves = (produced: readonly Produced[]): Produced[][] =>
  [produced.filter((p) => !isPlaylist(p)), produced.filter(isPlaylist)].filter(
    (wave) => wave.length > 0
  );

/** Uploads in waves (uploadWaves); the artifacts come back in `produced`'s order. */
export const uploadAll = async (
  bucket: string,
  produced: readonly Produced[],
  phases: BranchPhases
): Promise<Artifact[]> => {
  const done = new Map<Produced, Artifact>();
  for (const wave of uploadWaves(produced)) {
    const artifacts = await mapLimit(wave, UPLOAD_CONCURRENCY, (item) => upload(bucket, item));
    for (const [i, item] of wave.entries()) done.set(item, artifacts[i]!);
  }
  const artifacts = produced.map((item) => done.get(item)!);
  phases.uploads += artifacts.length;
  phases.uploadBytes += artifacts.reduce((sum, a) => sum + (a.bytes ?? 0), 0);
  return artifacts;
};

/**
 * Keeps what is thrown into the state small: Step Functions stores the Cause
 * (message + stack) in the execution history and the Catch result. The full
 * message is in the S3 branch result and the logs.
 */
const compact = (err: unknown): Error => {
  const e = err instanceof Error ? err : new MediaToolError(String(err));
  e.message = truncate(e.message, THROWN_MESSAGE_LIMIT);
  e.stack = `${e.name}: ${e.message}`;
  return e;
};

export interface RunBranchOptions {
  outputBucket: string;
  /** Milliseconds the kind may still use; the handler derives it from the Lambda deadline. */
  timeBudget: TimeBudget;
  /** Where tools read the source. @default a presigned GET URL of the exact version */
  sourceUrl?: (input: BranchInput) => Promise<string>;
  /**
   * Where tools read an object of the output bucket (a segment, for the join).
   * @default a presigned GET when the object exists, else undefined
   */
  outputUrl?: (key: string) => Promise<string | undefined>;
  now?: () => Date;
  /**
   * When set (the kinds that deliver a video variant), a SUCCEEDED branch
   * writes or grows the early multivariant playlist, and the first one that
   * made it playable publishes VideoPlayable here.
   * @default - no early playlist, no VideoPlayable
   */
  playableTopicArn?: string;
  /**
   * The early join (early-join.ts): a segment item that completes its
   * rendition joins it at once. `timeoutMs` is the rendition policy's
   * timeout, which bounds the join wherever it runs.
   * @default - off: the FanOut's rendition branch joins
   */
  earlyJoin?: { readonly timeoutMs?: number };
  /**
   * A segmented rendition's join reads the audio parts directly when the audio
   * join has not finished (set by the early join, so a rendition does not wait
   * for the audio join; in the Joins map the join joins the audio first).
   * @default false
   */
  audioFromParts?: boolean;
}

/**
 * Sequential mode's stop rule, decided by the next worker because an inline
 * Map's iterations share no state: walking back from the previous branch
 * (fire-and-forget ones never stop the sequence), the first awaited branch
 * decides. Its chain (itself, then its fallbacks) delivered: go on. It was
 * SKIPPED: the sequence had already stopped, same reason. Otherwise: stop.
 * Returns the reason to skip, or null to run.
 */
export const sequenceStopReason = async (
  sequence: NonNullable<BranchInput['sequence']>,
  readResult: (id: string) => Promise<BranchResult | undefined>
): Promise<string | null> => {
  const { index, branches, policy } = sequence;
  for (let i = index - 1; i >= 0; i--) {
    const prior = branches[i];
    if (!prior || branchRole(prior, policy) === 'fire-and-forget') continue;
    const records = await Promise.all(chainIds(policy, prior).map(readResult));
    if (records.some((r) => r?.status === 'SUCCEEDED')) return null;
    const skipped = records[0]?.status === 'SKIPPED' ? records[0].error?.message : undefined;
    return skipped ?? `sequence stopped: ${prior.id} failed with no successful fallback`;
  }
  return null;
};

/**
 * The `test-fail-once` hook (contract/metadata.ts): a listed branch fails on
 * its first run, which is the run with no record yet. A redrive finds the
 * FAILED record and runs the branch normally.
 */
export const failFirstRunIfAsked = async (input: BranchInput, outputBucket: string) => {
  if (!input.probe.failOnce?.includes(input.branch.id)) return;
  const prior = await getJsonIfExists<BranchResult>(
    outputBucket,
    branchResultKey(input.videoId, input.branch.id)
  );
  if (prior) return;
  const err = new Error(`test-fail-once hook: first run of ${input.branch.id} fails on request`);
  err.name = 'InjectedFailure';
  throw err;
};

/**
 * VideoPlayable, published once the multivariant playlist lists a delivered
 * rendition (docs/hls.md, "Playable early"). Attribute `type` only:
 * subscriptions that filter on `status` (alerts) never receive it.
 */
export const publishPlayable = (
  topicArn: string,
  event: VideoPlayableEvent,
  tenant: string
): Promise<void> =>
  publishEvent(
    topicArn,
    event,
    { [PROCESSED_EVENT_ATTRIBUTES.type]: PROCESSED_EVENT_TYPES.playable },
    `Publish VideoPlayable ${event.videoId}`,
    tenant
  );

/** The early playlist's S3 reads and conditional writes, on the output bucket. */
const earlyPlaylistIo = (bucket: string): EarlyPlaylistIo => ({
  listKeys: (prefix) => listKeys(bucket, prefix),
  readJson: (key) => getJsonIfExists<unknown>(bucket, key),
  readText: (key) => getTextIfExists(bucket, key),
  writeTextIfUnchanged: (key, body, contentType, read, metadata) =>
    putTextIfUnchanged(bucket, key, body, contentType, read, metadata),
  createJson: (key, body) => putJsonIfAbsent(bucket, key, body),
  writeJson: (key, body) => putJson(bucket, key, body).then(() => undefined),
});

/**
 * One Map iteration, for any registered kind: validate the branch against its
 * kind, run it on the source where it lies, upload the artifacts, record the
 * result. The record is written last on success, so its presence means every
 * artifact is in S3. On failure a FAILED record is written before re-throwing,
 * so the aggregator can report the real error even though the state only
 * carries its name.
 */
export const runBranch = async (
  input: BranchInput,
  {
    outputBucket,
    timeBudget,
    sourceUrl = (i) => presignSource(i.source, timeBudget() / 1000),
    outputUrl = async (key) => {
      const object = { bucket: outputBucket, key };
      return (await headIfExists(object)) ? presignSource(object, timeBudget() / 1000) : undefined;
    },
    now = () => new Date(),
    playableTopicArn,
    earlyJoin,
    audioFromParts = false,
  }: RunBranchOptions
): Promise<BranchRef> => {
  const { videoId, source, probe } = input;
  const kind = kindOf(input.branch);
  const branch = parseEvent(kind.schema, input.branch, `${kind.kind} branch`);
  const started = Date.now();
  const phases = emptyPhases();
  const record = (fields: Pick<BranchResult, 'status' | 'artifacts' | 'error'>): BranchResult => ({
    id: branch.id,
    kind: kind.kind,
    ...fields,
    durationMs: Date.now() - started,
    finishedAt: now().toISOString(),
  });
  // The dimension belongs to this invocation's metrics, but the Metrics instance outlives
  // it: a kind left by an earlier run that was not flushed (run() called directly, as the
  // unit tests do) made this a double add. Replace it instead of adding on top.
  const setDimensions = () => {
    metrics.clearDimensions();
    metrics.addDimension(METRIC_DIMENSIONS.kind, kind.kind);
    metrics.addDimension(METRIC_DIMENSIONS.tenant, tenantDimensionOf(input.tenant));
  };
  setDimensions();
  if (input.sequence) {
    const reason = await sequenceStopReason(input.sequence, (id) =>
      getJsonIfExists<BranchResult>(outputBucket, branchResultKey(videoId, id))
    );
    if (reason !== null) {
      const skipped = record({
        status: 'SKIPPED',
        artifacts: [],
        error: { name: 'Skipped', message: reason },
      });
      await putJson(outputBucket, branchResultKey(videoId, branch.id), skipped);
      logger.info('Branch skipped', { branch: branch.id, kind: kind.kind, reason });
      metrics.addMetric('BranchSkipped', MetricUnit.Count, 1);
      return { id: branch.id, status: 'SKIPPED', error: reason };
    }
  }
  // A video variant announces (the segment function gets the topic for the renditions it joins).
  // The audio join too: a rendition joined from the parts before it finished left a silent
  // ladder, which only the audio's delivery makes playable.
  const announce =
    playableTopicArn !== undefined && (VARIANT_KINDS.has(kind.kind) || isAudioJoin(input.branch));
  const announcePlayable = (artifacts: Artifact[]) =>
    timed(phases, 'playlistMs', () => announceOnce(artifacts));
  const announceOnce = async (artifacts: Artifact[]) => {
    const io = earlyPlaylistIo(outputBucket);
    const playlist = await writeEarlyPlaylist(videoId, probe.audioCodec !== null, io);
    logger.info('Early playlist', { branch: branch.id, playlist: playlist.outcome });
    if (playlist.text === undefined) return;
    const claim = { branchId: branch.id, playlist: playlist.text };
    if ((await claimPlayable(videoId, claim, io)) !== 'publish') return;
    const playableAt = now().toISOString();
    await publishPlayable(
      playableTopicArn!,
      { videoId, branchId: branch.id, artifacts, source, playableAt },
      input.tenant
    );
    metrics.addMetric('VideosPlayable', MetricUnit.Count, 1);
    await recordPublished(videoId, claim, playableAt, io);
  };
  if (announce) {
    // A retry after a failed VideoPlayable publish: the SUCCEEDED record is written last, after
    // every artifact, so the encode is done and only the playlist and the publish are repeated.
    const stored = await getJsonIfExists<BranchResult>(
      outputBucket,
      branchResultKey(videoId, branch.id)
    );
    if (stored?.status === 'SUCCEEDED' && stored.id === branch.id) {
      if (isSegmentedWithSound(input)) {
        // Joined early from the audio parts: the audio join must still have happened (the
        // manifest's HLS audio); it did unless its part's join failed, and then it is done here.
        await ensureAudioJoined(
          input,
          { outputBucket, timeBudget, sourceUrl, outputUrl, now, playableTopicArn },
          false
        );
        setDimensions();
      }
      await announcePlayable(stored.artifacts);
      logger.info('Branch already stored; VideoPlayable published again', { branch: branch.id });
      return { id: branch.id, status: 'SUCCEEDED' };
    }
  }
  let stored: BranchResult | undefined;
  try {
    await failFirstRunIfAsked(input, outputBucket);
    let audioParts: readonly string[] | undefined;
    if (isSegmentedWithSound(input)) {
      // A segmented rendition's join muxes the joined audio: join it here if no part did, or
      // (the early join) read the stored parts directly.
      audioParts = await ensureAudioJoined(
        input,
        { outputBucket, timeBudget, sourceUrl, outputUrl, now, playableTopicArn },
        audioFromParts
      );
      setDimensions();
    }
    const artifacts = await withTempDir('branch', async (workDir) => {
      const url = await timed(phases, 'signMs', () => sourceUrl(input));
      // Every tool read of the source carries If-Match on its ETag (source-pin.ts).
      const unpin = pinHttpInput(url, pinnedReadHeaders(source));
      let produced: Produced[];
      try {
        const { result, tools } = await timed(phases, 'runMs', () =>
          tallyTools(() =>
            kind.run(branch, {
              videoId,
              source,
              probe,
              input: url,
              workDir,
              timeBudget,
              outputUrl,
              ...(audioParts && { audioParts }),
              store: async (item) => {
                await upload(outputBucket, item);
              },
            })
          )
        );
        produced = result;
        phases.toolRuns += tools.runs;
        phases.toolMs += tools.ms;
      } catch (err) {
        // A tool reports a 412/404 mid-read as a broken input: S3 tells whether the source moved.
        await assertSourceUnchanged(source, err);
        throw err;
      } finally {
        unpin();
      }
      const uploaded = await timed(phases, 'uploadMs', () =>
        uploadAll(outputBucket, produced, phases)
      );
      // Internal records are stored like any artifact but never published as one.
      return uploaded.filter((_, i) => !produced[i]!.internal);
    });
    const result = record({ status: 'SUCCEEDED', artifacts, error: null });
    await timed(phases, 'recordMs', () =>
      putJson(outputBucket, branchResultKey(videoId, branch.id), result)
    );
    stored = result;
    logger.info('Branch succeeded', {
      branch: branch.id,
      kind: kind.kind,
      durationMs: result.durationMs,
      artifacts,
    });
    metrics.addMetric('BranchSucceeded', MetricUnit.Count, 1);
    metrics.addMetric('BranchDurationMs', MetricUnit.Milliseconds, result.durationMs ?? 0);
  } catch (err) {
    const error = {
      name: err instanceof Error ? err.name : 'Error',
      message: truncate(err instanceof Error ? err.message : String(err), ERROR_MESSAGE_LIMIT),
    };
    const result = record({ status: 'FAILED', artifacts: [], error });
    // A checkpoint is planned work, not a failure: its own Retry resumes it. The FAILED record
    // stays (it is the truth if the attempts run out); the log and the metric say what it is.
    const checkpoint = error.name === FALLBACK_INCOMPLETE;
    (checkpoint ? logger.info : logger.error).call(
      logger,
      checkpoint ? 'Branch checkpointed; its Retry resumes it' : 'Branch failed',
      { branch: branch.id, kind: kind.kind, durationMs: result.durationMs, error: err }
    );
    metrics.addMetric(checkpoint ? 'BranchCheckpointed' : 'BranchFailed', MetricUnit.Count, 1);
    metrics.addMetric('BranchDurationMs', MetricUnit.Milliseconds, result.durationMs ?? 0);
    try {
      await putJson(outputBucket, branchResultKey(videoId, branch.id), result);
    } catch (writeErr) {
      // The original error matters more; the aggregator copes with a missing record.
      logger.error('Could not write FAILED branch result', { error: writeErr });
    }
    throw compact(err);
  }
  // Outside the try: a failed publish keeps the SUCCEEDED record (no FAILED one over it), so the
  // state machine's Retry of this task finds it above and repeats only the publish.
  if (announce) await announcePlayable(stored.artifacts);
  publishPhases(videoId, branch.id, phases, Date.now() - started);
  const part = branch.kind === 'rendition-segment' && isAudioPart(branch as RenditionSegmentBranch);
  // In sequential mode too: the audio join delivers nothing, so it has no turn to keep.
  const audioJoinedHere =
    part &&
    (await joinAudioIfComplete(input, branch.id, {
      outputBucket,
      timeBudget,
      sourceUrl,
      outputUrl,
      now,
      playableTopicArn,
    }));
  // A part can complete a rendition only by completing the audio: the part that joined it looks
  // (a rendition whose last segment lands later is joined by that segment, which then sees the
  // audio record), the other parts need not read every rendition's segments.
  if (earlyJoin && branch.kind === 'rendition-segment' && (!part || audioJoinedHere)) {
    await joinCompletedRenditions(input, branch as RenditionSegmentBranch, {
      outputBucket,
      timeBudget,
      sourceUrl,
      outputUrl,
      now,
      playableTopicArn,
      joinTimeoutMs: earlyJoin.timeoutMs,
    });
  }
  return { id: branch.id, status: 'SUCCEEDED' };
};

/** The output bucket's reads for the joins (early-join.ts). */
const joinIo = (bucket: string): EarlyJoinIo => ({
  listKeys: (prefix) => listKeys(bucket, prefix),
  readJson: (key) => getJsonIfExists<unknown>(bucket, key),
});

type JoinOptions = Pick<
  RunBranchOptions,
  'outputBucket' | 'timeBudget' | 'sourceUrl' | 'outputUrl' | 'now' | 'playableTopicArn'
>;

/** Runs the audio join (the `audio` branch with `parts`) as its own branch: its own record. */
const runAudioJoin = async (input: BranchInput, parts: number, options: JoinOptions) => {
  // The join is no step of a sequence (the caller's turn was decided already).
  const { sequence: _sequence, ...rest } = input;
  // The caller's metrics go out with its own dimensions before the join sets its own.
  flushMetrics();
  await runBranch({ ...rest, branch: audioItem(parts) }, options);
};

/**
 * After an audio part: when every part is stored and the audio is not joined
 * yet, this part is the last writer and joins them (stream copy, HLS audio
 * playlist, the `audio` record SUCCEEDED that the renditions' joins wait for).
 * Two parts finishing together may both join: same keys, same copied bytes.
 * A failure is logged and left to the renditions' joins, which join the audio
 * themselves; it never fails the part. True when this part joined it.
 */
const joinAudioIfComplete = async (
  input: BranchInput,
  by: string,
  options: JoinOptions
): Promise<boolean> => {
  // The part's record is stored: nothing here (a read included) may fail it into a retry.
  try {
    const io = joinIo(options.outputBucket);
    const parts = await audioPartsOf(input.videoId, io);
    if (parts === undefined) return false;
    const state = await audioJoinState(input.videoId, parts, io);
    if (state.joined || state.missing.length > 0) return false;
    if (options.timeBudget() < EARLY_JOIN_MIN_BUDGET_MS) {
      logger.info('No time left for the audio join; a rendition join does it', { by });
      return false;
    }
    await runAudioJoin(input, parts, {
      ...options,
      timeBudget: () => options.timeBudget() - EARLY_JOIN_UPLOAD_RESERVE_MS,
    });
    logger.info('Audio joined', { parts, by });
    return true;
  } catch (err) {
    logger.warn('Audio join failed; the renditions join it', { by, error: err });
    return false;
  }
};

/**
 * Before a segmented rendition's join: the joined audio must exist. When the
 * items split the audio and no part joined it (raced, failed, no time left),
 * the rendition joins it now if every part is stored; otherwise it fails
 * naming the missing parts, so the rendition falls back under the policy.
 */
const ensureAudioJoined = async (
  input: BranchInput,
  options: JoinOptions,
  fromParts: boolean
): Promise<readonly string[] | undefined> => {
  const io = joinIo(options.outputBucket);
  const parts = await audioPartsOf(input.videoId, io);
  // No parts (an older items file): the rendition's join checks the whole-file audio itself.
  if (parts === undefined) return undefined;
  const state = await audioJoinState(input.videoId, parts, io);
  if (state.joined) return undefined;
  if (state.missing.length > 0) {
    throw new MediaToolError(missingPartsMessage(state.missing, parts));
  }
  // The early join: the audio join is running (the last part's invocation) or about to; this
  // join reads the same stored parts instead of waiting for it.
  if (fromParts) return audioPartKeys(input.videoId, parts);
  await runAudioJoin(input, parts, options);
  logger.info('Audio joined by a rendition join', { parts, rendition: input.branch.id });
  return undefined;
};

/** A segmented rendition of a source with sound: its join muxes the audio. */
const isSegmentedWithSound = (input: BranchInput): boolean =>
  input.branch.kind === 'rendition' &&
  (input.branch as RenditionBranch).segmentation !== undefined &&
  input.probe.audioCodec !== null;

/** The audio join: the `audio` item of a video whose audio is in parts (not a part itself). */
const isAudioJoin = (branch: BranchInput['branch']): boolean => {
  if (branch.kind !== 'rendition-segment') return false;
  const item = branch as RenditionSegmentBranch;
  return (
    item.track === 'audio' && !isAudioPart(item) && 'parts' in item && item.parts !== undefined
  );
};

/** The branch's time split (phases.ts), as EMF metadata on the invocation's metrics. */
const publishPhases = (
  videoId: string,
  branchId: string,
  phases: BranchPhases,
  totalMs: number
): void => {
  metrics.addMetadata('videoId', videoId);
  metrics.addMetadata('branchId', branchId);
  metrics.addMetadata(PHASES_METADATA, JSON.stringify(roundedPhases({ ...phases, totalMs })));
};

/** The least budget an early join starts with (a stream copy and its HLS packaging). */
const EARLY_JOIN_MIN_BUDGET_MS = 120_000;
/** Kept back from the join's tools for uploading the joined MP4 and its HLS files. */
const EARLY_JOIN_UPLOAD_RESERVE_MS = 60_000;

/**
 * After a segment item: joins each rendition it completed (early-join.ts) by
 * running the rendition branch right here, as the FanOut would. A failed
 * early join is logged and left to the FanOut's branch, which joins again
 * under the policy; it never fails the segment item.
 */
const joinCompletedRenditions = async (
  input: BranchInput,
  item: RenditionSegmentBranch,
  options: Omit<RunBranchOptions, 'earlyJoin'> & { joinTimeoutMs: number | undefined }
): Promise<void> => {
  const { videoId, probe } = input;
  const { outputBucket, joinTimeoutMs, timeBudget, ...rest } = options;
  const io = joinIo(outputBucket);
  const audioParts = probe.audioCodec === null ? undefined : await audioPartsOf(videoId, io);
  for (const rendition of await renditionsTouchedBy(videoId, item, io)) {
    // The test-fail-once hook belongs to the FanOut's run of the branch.
    if (probe.failOnce?.includes(rendition.id)) continue;
    if (!(await readyToJoin(videoId, rendition, probe.audioCodec !== null, io, audioParts))) {
      continue;
    }
    // Too little time left in this invocation: a join cut off by the Lambda timeout (its upload
    // is not bounded by the budget) would fail this segment item, so the FanOut joins instead.
    if (timeBudget() < EARLY_JOIN_MIN_BUDGET_MS) {
      logger.info('No time left for an early join; the FanOut joins', { rendition: rendition.id });
      continue;
    }
    const deadline = joinTimeoutMs === undefined ? Infinity : Date.now() + joinTimeoutMs;
    // The segment's metrics go out with its own dimensions before the join sets the rendition's.
    flushMetrics();
    try {
      await runBranch(
        { ...input, branch: renditionBranchOf(rendition) },
        {
          ...rest,
          outputBucket,
          timeBudget: () =>
            Math.min(timeBudget() - EARLY_JOIN_UPLOAD_RESERVE_MS, deadline - Date.now()),
          // Not waiting for the audio join: the stored parts are the audio.
          audioFromParts: true,
        }
      );
      logger.info('Rendition joined early', { rendition: rendition.id, by: item.id });
    } catch (err) {
      logger.warn('Early join failed; the FanOut joins this rendition', {
        rendition: rendition.id,
        by: item.id,
        error: err,
      });
    }
  }
};
