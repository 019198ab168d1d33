import type * as z from 'zod/mini';
import type { Branch, ProbeResult, SourceObject } from '../../contract/index.js';
import type { KindDescriptor, PlanConfig } from '../../kinds/index.js';

export type { BranchSizing, PlanConfig } from '../../kinds/index.js';
export { DEFAULT_PLAN_CONFIG } from '../../kinds/index.js';

/**
 * What one branch kind does: its descriptor (kinds/<kind>.ts: schema, sizing,
 * policy defaults; read by the stack, the cost model and the CLI) plus the
 * plan and the ffmpeg work, which only the Lambdas run.
 */
export interface BranchKind<S extends z.ZodMiniType<Branch> = z.ZodMiniType<Branch>>
  extends KindDescriptor<S> {
  /**
   * The branches of this kind for one video. Pure: the same probe and
   * configuration always give the same branches, so a retried Plan step
   * cannot change the fan-out.
   */
  plan(probe: ProbeResult, config: PlanConfig): z.infer<S>[];
  /** Produces the artifacts; the generic runner uploads them and records the result. */
  run(branch: z.infer<S>, context: RunContext): Promise<Produced[]>;
}

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
  /**
   * Uploads one artifact at once, while run() goes on (the returned ones are
   * uploaded after run()): a checkpoint that stays in S3 when run() then throws.
   * The segmented fallback stores each segment with it.
   * @default - none: a kind that needs it fails with a MediaToolError
   */
  readonly store?: (item: Produced) => Promise<void>;
  /**
   * The audio part keys, in order, when a segmented rendition's join is to read
   * the parts directly because the audio join has not finished (the early join:
   * it then runs beside the audio join instead of after it).
   * @default - none: the join reads the joined audio
   */
  readonly audioParts?: readonly string[];
}

/**
 * An artifact the branch produced, not yet uploaded: a local file or (small) bytes.
 * `internal`: uploaded (a later step reads it) but never listed among the branch's
 * published artifacts (the manifest, VideoPlayable): the workflow's own `_work/` records.
 * `stored`: already uploaded with the context's `store` while run() went on; listed
 * among the branch's artifacts like any other, not uploaded again.
 */
export type Produced = { key: string; contentType: string; internal?: true; stored?: true } & (
  | { path: string }
  | { body: Buffer }
);
