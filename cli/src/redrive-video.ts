import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import {
  AGGREGATE_FAILED_ERROR,
  ManifestBranchSchema,
  manifestKey,
  type RedriveRequest,
  redriveExecutionName,
  SourceObjectSchema,
  tenantOfVideoId,
  type WorkflowInput,
} from '../../contract/index.js';
import { isMissingApi } from './aws.js';
import { CliError } from './config.js';
import { type Out, say } from './watch.js';

/**
 * `redrive video <videoId>`: how to redrive one video is a pure decision
 * (planVideoRedrive, from its manifest and latest execution); runRedriveVideo
 * only reads those, starts what the plan chose and prints which path it took.
 */

/** What redrive reads from a manifest: any schema version that has these fields. */
export const RedrivableManifestSchema = z.object({
  videoId: z.string(),
  tenant: z.optional(z.string()),
  source: SourceObjectSchema,
  status: z.string(),
  branches: z.array(ManifestBranchSchema),
  redrive: z.optional(z.nullable(z.object({ attempt: z.int() }))),
});
export type RedrivableManifest = z.infer<typeof RedrivableManifestSchema>;

/**
 * Pure: the planned branches whose chain did not deliver (the entry and every
 * fallback that ran for it failed, timed out or was skipped). Fire-and-forget
 * branches never decide a status, so they are not redriven.
 */
export const failedBranchIds = (manifest: RedrivableManifest): string[] => {
  const chains: { id: string; role: string; delivered: boolean }[] = [];
  for (const b of manifest.branches) {
    const last = chains[chains.length - 1];
    const delivered = b.status === 'SUCCEEDED';
    if (b.fallbackFor !== null && last) last.delivered ||= delivered;
    else chains.push({ id: b.id, role: b.role, delivered });
  }
  return chains.filter((c) => !c.delivered && c.role !== 'fire-and-forget').map((c) => c.id);
};

export type VideoRedrivePlan =
  | { path: 'refuse'; message: string }
  | { path: 'redrive-execution'; executionArn: string; why: string }
  | { path: 'new-execution'; name: string; input: WorkflowInput; why: string };

export interface ExecutionFacts {
  name: string;
  arn: string;
  status: string;
  error?: string | undefined;
  input?: string | undefined;
}

/** The Fail state's error: the aggregator wrote a FAILED manifest and the execution ended there. */
export const VERDICT_ERROR = 'WorkFailed';
/**
 * Errors of the Fail states after the Aggregate state: RedriveExecution would re-run only
 * the Fail state, so these are redriven with a new execution (WorkFailed: the aggregator's
 * verdict; AggregateFailed: the aggregator failed past its retries, the keeper's verdict).
 */
const FAIL_STATE_ERRORS: readonly string[] = [VERDICT_ERROR, AGGREGATE_FAILED_ERROR];

/**
 * Pure: how to redrive one video, given its manifest (if any) and its latest
 * execution (the original or a previous redrive; undefined when none).
 * - running: refuse (the manifest is about to change);
 * - COMPLETE: refuse, nothing to do;
 * - PARTIAL, or FAILED by the aggregator's verdict: a new execution that runs the failed
 *   branches only. RedriveExecution cannot help: a PARTIAL execution SUCCEEDED, and a
 *   verdict FAILED at the Fail state after the aggregator, so AWS would re-run only that
 *   Fail state;
 * - FAILED, TIMED_OUT or ABORTED before the verdict (no manifest, or the verdict
 *   keeper's FAILED one, which records that ending): RedriveExecution, which resumes
 *   where it stopped (the caller falls back to a new execution of every branch where the
 *   target lacks it); the redriven run's aggregator then replaces the keeper's verdict;
 * - FAILED at AggregateFailed (the aggregator failed past its retries): a new execution,
 *   like a verdict, of every branch (the keeper's manifest lists none).
 */
export const planVideoRedrive = (
  videoId: string,
  manifest: RedrivableManifest | undefined,
  latest: ExecutionFacts | undefined
): VideoRedrivePlan => {
  if (latest?.status === 'RUNNING') {
    return {
      path: 'refuse',
      message: `video ${videoId} is still running (execution ${latest.name}); wait for its manifest`,
    };
  }
  if (!manifest && !latest) {
    return {
      path: 'refuse',
      message: `unknown video ${videoId}: no manifest and no execution of that name`,
    };
  }
  if (manifest?.status === 'COMPLETE') {
    return {
      path: 'refuse',
      message: `video ${videoId} is already COMPLETE: nothing to redrive`,
    };
  }
  const attempt = (manifest?.redrive?.attempt ?? 0) + 1;
  const beforeVerdict =
    latest !== undefined &&
    ['FAILED', 'TIMED_OUT', 'ABORTED'].includes(latest.status) &&
    !FAIL_STATE_ERRORS.includes(latest.error ?? '');
  if (beforeVerdict && latest) {
    return {
      path: 'redrive-execution',
      executionArn: latest.arn,
      why: `execution ${latest.name} is ${latest.status} (${latest.error ?? 'no error'}) before the aggregator's verdict`,
    };
  }
  if (!manifest) {
    return {
      path: 'refuse',
      message: `video ${videoId} has no manifest and its execution ${latest?.name} is ${latest?.status}: nothing to redrive`,
    };
  }
  const branches = manifest.branches.length === 0 ? null : failedBranchIds(manifest);
  if (branches !== null && branches.length === 0) {
    return {
      path: 'refuse',
      message: `video ${videoId} is ${manifest.status} but no awaited branch failed: nothing to redrive`,
    };
  }
  const redrive: RedriveRequest = { attempt, branches, previousStatus: manifest.status };
  return {
    path: 'new-execution',
    name: redriveExecutionName(videoId, attempt),
    input: {
      videoId,
      // A manifest before schema 4 has no tenant: only its videoId's prefix says whose it is.
      tenant: manifest.tenant ?? tenantOfVideoId(videoId),
      source: manifest.source,
      redrive,
    },
    why:
      manifest.status === 'PARTIAL'
        ? 'a PARTIAL video’s execution SUCCEEDED, so RedriveExecution does not apply'
        : latest?.error === AGGREGATE_FAILED_ERROR
          ? 'the aggregator failed past its retries and the execution ended at its Fail state, where RedriveExecution would only re-run that state'
          : 'the execution ended at the aggregator’s FAILED verdict, where RedriveExecution would only re-run the Fail state',
  };
};

export interface VideoClients {
  s3: import('@aws-sdk/client-s3').S3Client;
  sfn: import('@aws-sdk/client-sfn').SFNClient;
}

export interface VideoTarget {
  outputBucket: string;
  stateMachineArn: string;
  targetName: string;
}

const readRedrivableManifest = async (
  { s3 }: VideoClients,
  bucket: string,
  videoId: string
): Promise<RedrivableManifest | undefined> => {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey(videoId) }));
    const parsed = RedrivableManifestSchema.safeParse(
      JSON.parse(await res.Body!.transformToString())
    );
    if (!parsed.success) {
      throw new CliError(`the manifest of ${videoId} is not readable: ${parsed.error.message}`);
    }
    return parsed.data;
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') return undefined;
    throw err;
  }
};

/** The video's executions (the original, named after it, and its redrives), newest first. */
export const executionsOf = async (
  { sfn }: VideoClients,
  stateMachineArn: string,
  videoId: string
): Promise<ExecutionFacts[]> => {
  const mine: ExecutionFacts[] = [];
  const original = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;
  const describe = async (arn: string) => {
    try {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      return {
        name: d.name ?? '',
        arn,
        status: d.status ?? 'UNKNOWN',
        error: d.error,
        input: d.input,
        started: d.redriveDate ?? d.startDate,
      };
    } catch (err) {
      if ((err as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw err;
    }
  };
  const found = [await describe(original)];
  // Redrive attempts are numbered; follow them until one does not exist.
  for (let attempt = 1; attempt < 1000; attempt++) {
    const next = await describe(`${original}-redrive-${attempt}`);
    if (!next) break;
    found.push(next);
  }
  for (const f of found) if (f) mine.push(f);
  return mine.reverse();
};

export interface VideoRedriveResult {
  path: VideoRedrivePlan['path'] | 'new-execution-fallback';
  executionArn?: string;
}

/**
 * Starts the redrive the plan chose and prints which path was taken. Where
 * the target lacks RedriveExecution (LocalStack 4.14.0) the same video is
 * re-run in a new execution of every branch, and the message says so.
 */
export const runRedriveVideo = async (
  clients: VideoClients,
  target: VideoTarget,
  videoId: string,
  out: Out
): Promise<VideoRedriveResult> => {
  const [manifest, executions] = await Promise.all([
    readRedrivableManifest(clients, target.outputBucket, videoId),
    executionsOf(clients, target.stateMachineArn, videoId),
  ]);
  const running = executions.find((e) => e.status === 'RUNNING');
  const plan = planVideoRedrive(videoId, manifest, running ?? executions[0]);
  if (plan.path === 'refuse') throw new CliError(plan.message);
  const start = async (name: string, input: WorkflowInput) => {
    try {
      const res = await clients.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: target.stateMachineArn,
          name,
          input: JSON.stringify(input),
        })
      );
      return res.executionArn ?? '';
    } catch (err) {
      if ((err as Error).name === 'ExecutionAlreadyExists') {
        throw new CliError(
          `redrive execution ${name} already exists: a redrive of ${videoId} was started and has not rewritten the manifest; see npm run status -- ${videoId}`
        );
      }
      throw err;
    }
  };
  if (plan.path === 'redrive-execution') {
    try {
      await clients.sfn.send(new RedriveExecutionCommand({ executionArn: plan.executionArn }));
      say(out, `path: RedriveExecution of ${plan.executionArn} (${plan.why})`);
      return { path: 'redrive-execution', executionArn: plan.executionArn };
    } catch (err) {
      if (!isMissingApi(err)) throw err;
      const original = executions.find((e) => e.arn === plan.executionArn);
      const input = JSON.parse(original?.input ?? '{}') as WorkflowInput;
      const attempt = (manifest?.redrive?.attempt ?? 0) + 1;
      const name = redriveExecutionName(videoId, attempt);
      const arn = await start(name, {
        videoId,
        // An execution input from before the tenant field: only its name says whose it is.
        tenant: input.tenant ?? tenantOfVideoId(videoId),
        source: input.source,
        redrive: { attempt, branches: null, previousStatus: original?.status ?? 'UNKNOWN' },
      });
      say(
        out,
        `path: new execution ${name} running every branch: ${target.targetName} has no RedriveExecution ` +
          `(${(err as Error).name}); ${plan.why}`
      );
      return { path: 'new-execution-fallback', executionArn: arn };
    }
  }
  const arn = await start(plan.name, plan.input);
  const which = plan.input.redrive?.branches;
  say(
    out,
    `path: new execution ${plan.name} for ${which ? `branches ${which.join(', ')}` : 'every branch'} ` +
      `(${plan.why}); the other branches keep their results`
  );
  return { path: 'new-execution', executionArn: arn };
};

/** Polls the execution until it ends; returns its status. */
export const waitForExecution = async (
  { sfn }: VideoClients,
  executionArn: string,
  timeoutMs: number,
  intervalMs = 2000
): Promise<string> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return d.status ?? 'UNKNOWN';
    if (Date.now() > deadline) {
      throw new CliError(`redrive ${executionArn} still RUNNING after ${timeoutMs / 1000} s`);
    }
    await sleep(intervalMs);
  }
};
