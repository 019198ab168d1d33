import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AggregateInput,
  type BranchInput,
  type BranchRef,
  STATE_NAMES,
} from '../../contract/index.js';
import { branchRefs } from '../../lambdas/aggregate/verdict.js';
import { type AnyBranch, rendition, thumbnail } from '../../lambdas/branch-kinds/index.js';
import { resolveDefinition, synthVideoStack } from './synth.js';

/**
 * The Wave (parallel mode): the synthesized ASL itself, run with stub tasks, keeps the
 * policy's meaning for a deferred join (its failure runs the rendition's fallback) and
 * runs every other branch once, in the FanOut. Sequential mode keeps the old shape.
 */
type Definition = ConstructorParameters<typeof StateMachine>[0];

const SEGMENTATION = { count: 6, lengthSec: 2, framesPerSegment: 50, gopFrames: 50, frameRate: 25 };
const PLAN: AnyBranch[] = [
  thumbnail.schema.parse({ id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 320 }),
  rendition.schema.parse({ id: 'rendition-180p', kind: 'rendition', height: 180 }),
  rendition.schema.parse({
    id: 'rendition-360p',
    kind: 'rendition',
    height: 360,
    segmentation: SEGMENTATION,
  }),
];

class SegmentsMissingError extends Error {
  override name = 'SegmentsMissingError';
}

describe('the Wave in parallel mode', () => {
  let definition: Definition;
  beforeAll(() => {
    definition = resolveDefinition(synthVideoStack().template) as unknown as Definition;
  }, 300_000);

  it("runs a deferred join's failure into the rendition's fallback, and every other branch once in the FanOut", async () => {
    // Prepare
    const ran: string[] = [];
    let aggregated: AggregateInput | undefined;
    const run = (state: string, fail?: Error) => (input: unknown) => {
      const { branch } = input as BranchInput;
      ran.push(`${state}:${branch.id}`);
      if (fail) throw fail;
      return { id: branch.id, status: 'SUCCEEDED' } satisfies BranchRef;
    };
    const sm = new StateMachine(definition, { validationOptions: { noValidate: false } });

    // Act
    const execution = sm.run(
      {
        videoId: 'wave',
        tenant: 'default',
        source: { bucket: 'b', key: 'uploads/wave.mp4', etag: 'e', size: 1 },
      },
      {
        overrides: {
          taskResourceLocalHandlers: {
            Probe: () => ({ durationSec: 12, width: 640, height: 360, frameRate: 25 }),
            // No `segments` items file: the Segments map is skipped, the deferral is not.
            Plan: () => ({ branches: PLAN }),
            RunThumbnail: run('RunThumbnail'),
            RunRendition: run('RunRendition'),
            JoinRunRendition: run('JoinRunRendition', new SegmentsMissingError('1 of 6 missing')),
            JoinRunRenditionFallback: run('JoinRunRenditionFallback'),
            Aggregate: (input: unknown) => {
              aggregated = input as AggregateInput;
              return { videoId: 'wave', status: 'COMPLETE', reason: null, manifestKey: 'k' };
            },
          },
          retryIntervalOverrides: { JoinRunRendition: 0 },
        },
      }
    );
    await execution.result;

    // Assess
    expect(ran.sort()).toEqual(
      [
        'RunThumbnail:thumb-01',
        'RunRendition:rendition-180p',
        'JoinRunRendition:rendition-360p',
        'JoinRunRenditionFallback:rendition-360p-fallback',
      ].sort()
    );
    expect(aggregated?.results).toBeUndefined();
    expect(branchRefs(aggregated!)).toEqual([
      { id: 'thumb-01', status: 'SUCCEEDED' },
      { id: 'rendition-180p', status: 'SUCCEEDED' },
      {
        id: 'rendition-360p',
        status: 'FAILED',
        error: 'SegmentsMissingError',
        fallback: { id: 'rendition-360p-fallback', status: 'SUCCEEDED' },
      },
    ]);
    // The Parallel carried only the FanOut's refs, not a copy of the state per branch.
    expect(Object.keys(aggregated!.wave!).sort()).toEqual(['fanOut', 'joins']);
  });
});

describe('sequential mode', () => {
  it('keeps the Segments map before the FanOut, which runs every branch in plan order', () => {
    // Act
    const asl = resolveDefinition(synthVideoStack({ fanOutMode: 'sequential' }).template) as {
      States: Record<string, { Next?: string; Default?: string; ItemProcessor?: unknown }>;
    };

    // Assess
    expect(asl.States[STATE_NAMES.wave]).toBeUndefined();
    expect(asl.States[STATE_NAMES.joins]).toBeUndefined();
    expect(asl.States.Plan?.Next).toBe('SegmentsNeeded');
    expect(asl.States.SegmentsNeeded?.Default).toBe(STATE_NAMES.fanOut);
    expect(asl.States[STATE_NAMES.segments]?.Next).toBe(STATE_NAMES.fanOut);
    expect(JSON.stringify(asl.States[STATE_NAMES.fanOut]?.ItemProcessor)).not.toContain(
      STATE_NAMES.deferred
    );
  }, 300_000);
});
