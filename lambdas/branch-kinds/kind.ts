import type * as z from 'zod/mini';
import {
  type Branch,
  DEFAULT_MAX_EXTRA_THUMBNAILS,
  type ProbeResult,
  type SourceObject,
} from '../../contract/index.js';

/**
 * What one branch kind declares. A kind is one module (thumbnail.ts,
 * rendition.ts, …) plus one line in registry.ts: the plan, the dispatch, the
 * schema union and the per-kind Lambda functions are all derived from the
 * registry.
 *
 * This file and the kind modules are imported by the CDK app too (for
 * `sizing`), so they must not create AWS clients or Powertools instances at
 * import time.
 */
export interface BranchKind<S extends z.ZodMiniType<Branch> = z.ZodMiniType<Branch>> {
  /** The `kind` value in plans, manifests and metrics. */
  readonly kind: string;
  /** The whole branch: `{ id, kind: <literal>, …params }`. */
  readonly schema: S;
  /**
   * The branches of this kind for one video. Pure: the same probe and
   * configuration always give the same branches, so a retried Plan step
   * cannot change the fan-out.
   */
  plan(probe: ProbeResult, config: PlanConfig): z.infer<S>[];
  /** Produces the artifacts; the generic runner uploads them and records the result. */
  run(branch: z.infer<S>, context: RunContext): Promise<Produced[]>;
  /** Sizing of the Lambda function that runs this kind (one function per kind). */
  readonly sizing: BranchSizing;
}

export interface BranchSizing {
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  readonly ephemeralStorageMiB: number;
  /** True when the kind runs ffmpeg/ffprobe: the function gets the layer and x86_64. */
  readonly usesFfmpeg: boolean;
}

/** Planning knobs set on the Plan function (stack props → environment). */
export interface PlanConfig {
  readonly thumbnailCount: number;
  readonly thumbnailWidth: number;
  /** At most this many thumbnails at the uploader's `thumbnail-times` (the rest become warnings). */
  readonly maxExtraThumbnails: number;
  readonly renditionHeights: readonly number[];
  /** Upper bound on branches per video; more is an InvalidVideoError. */
  readonly maxBranches: number;
  /** Sources longer than this (seconds) get segment-parallel renditions; shorter ones one run. */
  readonly segmentThresholdSec: number;
  /** Target segment length in seconds (rounded up to whole 2 s GOPs). */
  readonly segmentLengthSec: number;
  /** At most this many segments per rendition: the plan lengthens segments rather than exceed it. */
  readonly maxSegments: number;
  /**
   * Longest segment (seconds of source) the segment function encodes well within
   * its timeout at its memory; a source needing longer segments is refused.
   */
  readonly maxSegmentSec: number;
}

export const DEFAULT_PLAN_CONFIG: PlanConfig = {
  thumbnailCount: 3,
  thumbnailWidth: 320,
  maxExtraThumbnails: DEFAULT_MAX_EXTRA_THUMBNAILS,
  renditionHeights: [360, 720],
  maxBranches: 1000,
  // For the 2 GiB, 600 s rendition-segment function: 1080p → 720p `veryfast` runs at
  // several times real time on ~1.2 vCPU, so 300 s of source leaves over half the
  // timeout spare; 120 segments of 30 s cover one hour.
  segmentThresholdSec: 120,
  segmentLengthSec: 30,
  maxSegments: 120,
  maxSegmentSec: 300,
};

/** Milliseconds a tool may still run; evaluated just before spawning, so earlier work counts. */
export type TimeBudget = () => number;

export interface RunContext {
  readonly videoId: string;
  readonly source: SourceObject;
  /** The probe's findings: no branch probes the source again. */
  readonly probe: ProbeResult;
  /**
   * Where ffmpeg/ffprobe read the source: a short-lived presigned GET URL, so a
   * tool fetches only the byte ranges it needs (a thumbnail reads the index and
   * one GOP, not the whole upload). Tests pass a local file path.
   */
  readonly input: string;
  /** A private temp directory, removed after the branch. */
  readonly workDir: string;
  readonly timeBudget: TimeBudget;
  /**
   * Where a tool reads an object this video already stored in the output
   * bucket (a presigned GET in Lambda, a path in tests), or undefined when it
   * is not there. The segmented rendition's join reads its segments with it.
   * @default - none: a kind that needs it fails with a MediaToolError
   */
  readonly outputUrl?: (key: string) => Promise<string | undefined>;
}

/** An artifact the branch produced, not yet uploaded: a local file or (small) bytes. */
export type Produced = { key: string; contentType: string } & ({ path: string } | { body: Buffer });
