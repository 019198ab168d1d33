import {
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import {
  type Branch,
  type BranchRef,
  BranchRefSchema,
  BranchSchema,
  FanOutPolicySchema,
  STATE_NAMES,
  StateErrorSchema,
} from '../../contract/index.js';
import { branchStates, joinState } from '../../kinds/index.js';
import { CliError } from './config.js';

/**
 * Live progress read from the execution history, the published record of a
 * run (the workflow's `_work/` objects are internal). Written against the
 * AWS event shapes; the local runtime emits the same ones.
 */

const PLAN_STATE = STATE_NAMES.plan;
const UNKNOWN_KIND_STATE = STATE_NAMES.unknownBranchKind;

export type LiveStatus = 'running' | 'succeeded' | 'failed' | 'timed-out' | 'skipped';

export interface LiveBranch {
  id: string;
  status: LiveStatus;
  /** The error name a failed branch reported (BranchFailed keeps only the name). */
  error?: string;
  enteredAt?: Date;
  exitedAt?: Date;
}

export interface HistoryProgress {
  /** The planned branches, once the Plan state has exited. */
  plan?: Branch[];
  branches: ReadonlyMap<string, LiveBranch>;
}

/** Every event of one execution, oldest first; none while it does not exist yet. */
export const readHistory = async (
  sfn: SFNClient,
  executionArn: string
): Promise<HistoryEvent[]> => {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          includeExecutionData: true,
          maxResults: 1000,
          nextToken,
        })
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (err) {
    if (err instanceof ExecutionDoesNotExist || (err as Error).name === 'ExecutionDoesNotExist') {
      return [];
    }
    throw err;
  }
  return events;
};

/** A run state's output after its Catch (`ResultPath: $.error`); BranchFailed reports it next. */
const CaughtOutputSchema = z.looseObject({ error: StateErrorSchema });

const PlanOutputSchema = z.looseObject({
  plan: z.object({ branches: z.array(BranchSchema) }),
  policy: z.optional(FanOutPolicySchema),
});
const BranchTaskInputSchema = z.looseObject({ branch: BranchSchema });

interface StateDetails {
  name?: string;
  input?: string;
  output?: string;
}

const payload = (
  event: HistoryEvent,
  details: StateDetails,
  text: string | undefined
): unknown | undefined => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // AWS truncates payloads above 256 KiB and says so in input/outputDetails.
    throw new CliError(
      `execution history event ${event.id} (${event.type} ${details.name}) has a payload that is not JSON (truncated?)`
    );
  }
};

const parseOrFail = <T>(
  schema: z.ZodMiniType<T>,
  value: unknown,
  event: HistoryEvent,
  what: string
): T => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') || '(root)';
    throw new CliError(
      `execution history event ${event.id} (${event.type}): ${what} does not match the contract: ${path}: ${issue?.message}`
    );
  }
  return parsed.data;
};

/**
 * Folds the history into plan + branch states. A branch is running from its
 * `Run<Kind>` state's entry (the input names it in `branch.id`) until that
 * state exits with `{id, status}`, or the BranchFailed pass exits with
 * `{id, status: 'FAILED', error}`.
 */
export const progressFromHistory = (events: readonly HistoryEvent[]): HistoryProgress => {
  let plan: Branch[] | undefined;
  let runStates = new Set<string>();
  /** States that report a branch's end: the run states, the failure passes and, per policy, the fallback ones. */
  let endStates = new Set<string>([
    STATE_NAMES.branchFailed,
    joinState(STATE_NAMES.branchFailed),
    UNKNOWN_KIND_STATE,
  ]);
  const branches = new Map<string, LiveBranch>();
  const end = (ref: BranchRef, at: Date | undefined) => {
    const before = branches.get(ref.id);
    branches.set(ref.id, {
      id: ref.id,
      status:
        ref.status === 'SUCCEEDED'
          ? 'succeeded'
          : ref.status === 'SKIPPED'
            ? 'skipped'
            : ref.error === 'States.Timeout'
              ? 'timed-out'
              : 'failed',
      error: ref.error,
      enteredAt: before?.enteredAt,
      // A caught failure exits BranchFailed after its task: the branch ended then.
      exitedAt: at,
    });
    // A fell-back ref carries its fallback's outcome too (a row of its own).
    if (ref.fallback) end(ref.fallback, at);
  };

  for (const event of events) {
    const entered = event.stateEnteredEventDetails;
    const exited = event.stateExitedEventDetails;
    if (entered?.name && runStates.has(entered.name)) {
      const input = parseOrFail(
        BranchTaskInputSchema,
        payload(event, entered, entered.input),
        event,
        `the input of ${entered.name}`
      );
      const id = input.branch.id;
      branches.set(id, { id, status: 'running', enteredAt: event.timestamp });
      continue;
    }
    if (!exited?.name) continue;
    if (exited.name === PLAN_STATE) {
      const output = parseOrFail(
        PlanOutputSchema,
        payload(event, exited, exited.output),
        event,
        `the output of ${PLAN_STATE}`
      );
      plan = output.plan.branches;
      const fallbacks = Object.entries(output.policy?.kinds ?? {}).flatMap(([kind, p]) =>
        p.fallbackFor === undefined ? [] : [{ kind, origin: p.fallbackFor }]
      );
      const states = branchStates(
        plan.map((b) => b.kind),
        fallbacks
      );
      runStates = states.tasks;
      endStates = new Set([...endStates, ...states.refs]);
      continue;
    }
    if (!endStates.has(exited.name)) continue;
    const output = payload(event, exited, exited.output);
    // aws-local-stepfunctions (unlike AWS) also exits a task whose error was caught.
    if (runStates.has(exited.name) && CaughtOutputSchema.safeParse(output).success) continue;
    const ref = parseOrFail(BranchRefSchema, output, event, `the output of ${exited.name}`);
    end(ref, event.timestamp);
  }
  return { plan, branches };
};
