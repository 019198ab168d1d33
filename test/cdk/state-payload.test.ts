import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AggregateInput,
  type BranchInput,
  type BranchRef,
  FrameNotFoundError,
} from '../../contract/index.js';
import {
  branchRefs,
  decideStatus,
  LEGACY_POLICY,
  type ResultLookup,
  settleBranches,
} from '../../lambdas/aggregate/verdict.js';
import { type AnyBranch, rendition, thumbnail } from '../../lambdas/branch-kinds/index.js';
import { resolveDefinition, synthVideoStack } from './synth.js';

/**
 * Step Functions fails an execution with the uncatchable States.DataLimitExceeded
 * when any state's input or output passes 256 KiB. The pipeline promises to carry
 * S3 references only, so a large fan-out must stay far below that. This runs the
 * synthesized ASL itself (Map, Catch, ItemSelector and all) with stub tasks and
 * measures every payload.
 */
const LIMIT = 256 * 1024;
const ITEMS = 500;

let definition: ConstructorParameters<typeof StateMachine>[0];

beforeAll(() => {
  definition = resolveDefinition(synthVideoStack().template) as unknown as typeof definition;
});

/**
 * Branch `i` of the plan: thumbnails and renditions alternate; the id ends in `i`.
 * Every other rendition is segmented, so the Wave defers it and the Joins map runs it
 * (the items file is not read here: no `plan.segments`, so the Segments map is skipped).
 */
const SEGMENTATION = {
  count: 120,
  lengthSec: 30,
  framesPerSegment: 900,
  gopFrames: 60,
  frameRate: 30,
};
const planOf = (n: number): AnyBranch[] =>
  Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? thumbnail.schema.parse({ id: `thumb-${i}`, kind: 'thumbnail', atSec: i, width: 320 })
      : rendition.schema.parse({
          id: `rendition-${i}`,
          kind: 'rendition',
          height: 360,
          ...(i % 4 === 1 && { segmentation: SEGMENTATION }),
        })
  );
const SEGMENTED = Math.floor((ITEMS + 2) / 4);
const indexOf = (id: string): number => Number(/(\d+)$/.exec(id)?.[1]);

/** A stub worker: branch `i` fails when `i % failEvery === 0` (never for 0), with a long message as a worst case. */
const runBranch = (failEvery: number) => (input: unknown) => {
  const { branch } = input as BranchInput;
  const index = indexOf(branch.id);
  if (failEvery > 0 && index % failEvery === 0) {
    throw new FrameNotFoundError(`no frame at ${index}s: ${'x'.repeat(400)}`);
  }
  return { id: branch.id, status: 'SUCCEEDED' } satisfies BranchRef;
};

/**
 * The aggregator's decision, run on what the Map really produced: each ref
 * becomes the BranchResult the aggregator would build without an S3 record.
 */
const aggregateStub = (input: unknown) => {
  const state = input as AggregateInput;
  aggregated = state;
  const refs = new Map(branchRefs(state).map((r) => [r.id, r]));
  // A SUCCEEDED ref stands for the record its worker would have written.
  const records = new Map<string, ResultLookup>(
    branchRefs(state)
      .filter((r) => r.status === 'SUCCEEDED')
      .map((r) => [
        r.id,
        {
          id: r.id,
          kind: 'thumbnail',
          status: 'SUCCEEDED',
          artifacts: [],
          error: null,
          durationMs: null,
          finishedAt: null,
        },
      ])
  );
  const chains = settleBranches(
    state.plan?.branches ?? [],
    refs,
    records,
    state.policy ?? LEGACY_POLICY
  );
  // Judged under await all (every rendition here is primary): this test measures payloads, not status.
  return { videoId: state.videoId, ...decideStatus(chains, LEGACY_POLICY), manifestKey: 'k' };
};
let aggregated: AggregateInput | undefined;

const runMeasured = async (failEvery: number) => {
  const sm = new StateMachine(definition, { validationOptions: { noValidate: false } });
  const execution = sm.run(
    {
      videoId: 'a-rather-long-video-name-for-realism-0123456789abcdef',
      tenant: 'some',
      source: {
        bucket: 'videopipeline-uploadbucket-0123456789ab',
        key: 'uploads/some/deep/folder/a-rather-long-video-name-for-realism.mp4',
        versionId: 'Wq2eT.3kX9f7nLm0pQrStUvWxYz12345',
        etag: '0123456789abcdef0123456789abcdef',
        size: 1_234_567_890,
      },
    },
    {
      overrides: {
        taskResourceLocalHandlers: {
          Probe: () => ({
            durationSec: 3600,
            width: 1920,
            height: 1080,
            videoCodec: 'h264',
            audioCodec: 'aac',
            frameRate: 29.97,
            formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
            sizeBytes: 1_234_567_890,
            bitRate: 2_743_484,
          }),
          Plan: () => ({ branches: planOf(ITEMS) }),
          RunThumbnail: runBranch(failEvery),
          RunRendition: runBranch(failEvery),
          JoinRunRendition: runBranch(failEvery),
          Aggregate: aggregateStub,
        },
        retryIntervalOverrides: { RunThumbnail: 0, RunRendition: 0, JoinRunRendition: 0 },
      },
    }
  );
  let largest = { bytes: 0, state: '' };
  let iterations = 0;
  let joinsRun = 0;
  for await (const event of execution.eventLogs) {
    // The Joins map's iterations: top level. (aws-local-stepfunctions 3.0.0 forwards only part of
    // the events of a Map nested in a Parallel, so the FanOut's are counted from the refs below.)
    if (event.type === 'MapIterationSucceeded' && event.parentState?.name === 'Joins') iterations++;
    if (event.type === 'StateEntered' && event.state.name === 'JoinRunRendition') joinsRun++;
    if (event.type !== 'StateEntered' && event.type !== 'StateExited') continue;
    const payload = event.type === 'StateEntered' ? event.state.input : event.state.output;
    const bytes = Buffer.byteLength(JSON.stringify(payload ?? null));
    if (bytes > largest.bytes) largest = { bytes, state: `${event.state.name} (${event.type})` };
  }
  const result = (await execution.result) as { status: string };
  return { largest, iterations, joinsRun, result };
};

describe('state payload size', () => {
  it.each([
    {
      description: 'all branches succeed',
      failEvery: 0,
      failed: 0,
      status: 'COMPLETE',
    },
    {
      description: 'every other branch fails (Catch turns errors into data)',
      failEvery: 2,
      failed: ITEMS / 2,
      status: 'PARTIAL',
    },
  ])(
    `keeps every state of a ${ITEMS}-item fan-out under half the 256 KiB limit: $description`,
    async ({ failEvery, failed, status }) => {
      // Act
      const { largest, iterations, joinsRun, result } = await runMeasured(failEvery);
      // Assess: one FanOut and one Joins iteration per branch; only the segmented renditions joined.
      expect(iterations).toBe(ITEMS);
      expect(joinsRun).toBe(SEGMENTED);
      const refs = aggregated ? branchRefs(aggregated) : [];
      expect(refs).toHaveLength(ITEMS);
      expect(refs.filter((r) => r.status === 'FAILED')).toHaveLength(failed);
      expect(
        refs.filter((r) => r.status === 'FAILED').every((r) => r.error === 'FrameNotFoundError')
      ).toBe(true);
      expect(result.status).toBe(status);
      console.log(
        `largest state payload: ${largest.bytes} bytes (${((100 * largest.bytes) / LIMIT).toFixed(1)}% of 256 KiB) at ${largest.state}`
      );
      expect(largest.bytes).toBeLessThan(LIMIT / 2);
    }
  );
});
