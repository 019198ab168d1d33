import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FrameNotFoundError } from '../../lambdas/shared/errors.js';
import { type BranchTask, BranchTaskSchema } from '../../lambdas/shared/schemas.js';
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

const planOf = (n: number): BranchTask[] =>
  Array.from({ length: n }, (_, i) =>
    BranchTaskSchema.parse(
      i % 2 === 0
        ? {
            id: `thumb-at-${String(i * 1000).padStart(7, '0')}`,
            kind: 'thumbnail',
            atSec: i,
            width: 320,
          }
        : { id: `rendition-${i}p`, kind: 'rendition', height: 360 }
    )
  );

const runMeasured = async (failEvery: number) => {
  const sm = new StateMachine(definition, { validationOptions: { noValidate: false } });
  const execution = sm.run(
    {
      videoId: 'a-rather-long-video-name-for-realism-0123456789abcdef',
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
          Plan: () => ({ tasks: planOf(ITEMS) }),
          ProcessItem: (input) => {
            const { task } = input as { task: BranchTask };
            const index = Number(task.id.replace(/\D+/g, ''));
            if (index % failEvery === 0) {
              throw new FrameNotFoundError(`no frame at ${index}s: ${'x'.repeat(400)}`);
            }
            return { taskId: task.id, status: 'SUCCEEDED' };
          },
          Aggregate: () => ({
            videoId: 'v',
            status: 'PARTIAL',
            reason: 'some failed',
            manifestKey: 'k',
          }),
        },
        retryIntervalOverrides: { ProcessItem: 0 },
      },
    }
  );
  let largest = { bytes: 0, state: '' };
  let iterations = 0;
  for await (const event of execution.eventLogs) {
    if (event.type === 'MapIterationSucceeded') iterations++;
    if (event.type !== 'StateEntered' && event.type !== 'StateExited') continue;
    const payload = event.type === 'StateEntered' ? event.state.input : event.state.output;
    const bytes = Buffer.byteLength(JSON.stringify(payload ?? null));
    if (bytes > largest.bytes) largest = { bytes, state: `${event.state.name} (${event.type})` };
  }
  const result = (await execution.result) as { status: string };
  return { largest, iterations, result };
};

describe('state payload size', () => {
  it.each([
    { description: 'all branches succeed', failEvery: Number.POSITIVE_INFINITY },
    { description: 'every other branch fails (Catch turns errors into data)', failEvery: 2 },
  ])(
    `keeps every state of a ${ITEMS}-item fan-out under half the 256 KiB limit: $description`,
    async ({ failEvery }) => {
      // Act
      const { largest, iterations, result } = await runMeasured(failEvery);
      // Assess
      expect(result.status).toBe('PARTIAL');
      expect(iterations).toBe(ITEMS);
      console.log(
        `largest state payload: ${largest.bytes} bytes (${((100 * largest.bytes) / LIMIT).toFixed(1)}% of 256 KiB) at ${largest.state}`
      );
      expect(largest.bytes).toBeLessThan(LIMIT / 2);
    }
  );
});
