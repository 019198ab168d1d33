import '../../helpers/env.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { BranchIdSchema, MediaToolError } from '../../../contract/index.js';
import { cleanupMedia, makeClip } from '../../../fixtures/media.js';
import { DEFAULT_PLAN_CONFIG, defineKind, type KindCommand } from '../../../kinds/index.js';
import { commandWork, loadKindWork, type RunContext } from '../../../lambdas/branch-kinds/index.js';
import { probeFactory, sourceFactory } from '../../helpers/factories.js';

/**
 * The generic runner of a kind declared by its descriptor's command: a kind
 * made up here (registered nowhere) runs a real ffmpeg over a generated clip.
 */
const workDir = mkdtempSync(join(tmpdir(), 'command-work-'));
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  cleanupMedia();
});

const StillSchema = z.object({
  id: BranchIdSchema,
  kind: z.literal('still'),
  width: z.int(),
});
/** A kind made of data only: one PNG frame of the first second, as wide as the branch says. */
const stillKind = (
  command?: (
    b: z.infer<typeof StillSchema>,
    out: (n: string) => string,
    input: string
  ) => KindCommand
) =>
  defineKind({
    kind: 'still',
    schema: StillSchema,
    sizing: { memoryMiB: 512, timeoutSeconds: 60, ephemeralStorageMiB: 512, usesFfmpeg: true },
    runBy: 'fan-out',
    policy: { role: 'secondary' },
    playable: false,
    plan: (probe) => (probe.width > 0 ? [{ id: 'still', kind: 'still' as const, width: 160 }] : []),
    command: ({ branch, input, out }) =>
      command
        ? command(branch, out, input)
        : {
            args: [
              '-i',
              input,
              '-frames:v',
              '1',
              '-vf',
              `scale=${branch.width}:-2`,
              out('still.png'),
            ],
            outputs: { 'still.png': { contentType: 'image/png', publishAs: 'stills/still.png' } },
          },
  });

const contextFor = async (): Promise<RunContext> => ({
  videoId: 'clip-0123456789abcdef',
  source: sourceFactory(),
  probe: probeFactory({ width: 640, height: 360 }),
  input: await makeClip({ seconds: 1 }),
  workDir,
  timeBudget: () => 60_000,
});

/** Width and height from a PNG's IHDR chunk (bytes 16..24). */
const pngSize = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

describe('the generic runner of a command kind', () => {
  it('is what loadKindWork gives for a kind that declares a command (no work/ module)', async () => {
    // Act
    const work = await loadKindWork(stillKind());

    // Assess
    expect(work.kind).toBe('still');
    expect(work.plan(probeFactory({ width: 640 }), DEFAULT_PLAN_CONFIG)).toEqual([
      { id: 'still', kind: 'still', width: 160 },
    ]);
  });

  it('runs ffmpeg over a generated clip and returns the declared output at its published key', async () => {
    // Prepare
    const work = commandWork(stillKind());
    const context = await contextFor();

    // Act
    const produced = await work.run({ id: 'still', kind: 'still', width: 160 }, context);

    // Assess
    expect(produced).toEqual([
      {
        key: 'outputs/clip-0123456789abcdef/stills/still.png',
        contentType: 'image/png',
        path: join(workDir, 'still.png'),
      },
    ]);
    const png = readFileSync(join(workDir, 'still.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(pngSize(png)).toEqual({ width: 160, height: 90 });
  });

  it('fails with a MediaToolError when ffmpeg exits non-zero', async () => {
    // Prepare: an unknown filter.
    const work = commandWork(
      stillKind((_b, out, input) => ({
        args: ['-i', input, '-vf', 'no_such_filter', out('x.png')],
        outputs: { 'x.png': { contentType: 'image/png', publishAs: 'x.png' } },
      }))
    );

    // Act
    const run = work.run({ id: 'still', kind: 'still', width: 1 }, await contextFor());

    // Assess
    await expect(run).rejects.toThrow(MediaToolError);
    await expect(run).rejects.toThrow(/ffmpeg exited/);
  });

  it('fails with a MediaToolError when ffmpeg exits 0 but a declared output is missing', async () => {
    // Prepare: the command writes one file and declares two.
    const work = commandWork(
      stillKind((_b, out, input) => ({
        args: ['-i', input, '-frames:v', '1', out('one.png')],
        outputs: {
          'one.png': { contentType: 'image/png', publishAs: 'one.png' },
          'two.png': { contentType: 'image/png', publishAs: 'two.png' },
        },
      }))
    );

    // Act
    const run = work.run({ id: 'still', kind: 'still', width: 1 }, await contextFor());

    // Assess
    await expect(run).rejects.toThrow(MediaToolError);
    await expect(run).rejects.toThrow('wrote nothing to two.png (branch still)');
  });

  it.each([
    {
      what: 'an output name with a separator',
      name: '../x.png',
      publishAs: 'x.png',
      error: 'is not a plain file name',
    },
    {
      what: 'a published path that climbs out',
      name: 'x.png',
      publishAs: '../other/x.png',
      error: "is not a path under the video's outputs",
    },
    {
      what: "a published path in the workflow's _work/",
      name: 'x.png',
      publishAs: '_work/x.png',
      error: "is not a path under the video's outputs",
    },
  ])('refuses $what before running anything', async ({ name, publishAs, error }) => {
    // Prepare
    const work = commandWork(
      stillKind((_b, _out, input) => ({
        args: ['-i', input, join(workDir, 'never.png')],
        outputs: { [name]: { contentType: 'image/png', publishAs } },
      }))
    );

    // Act
    const run = work.run({ id: 'still', kind: 'still', width: 1 }, await contextFor());

    // Assess
    await expect(run).rejects.toThrow(error);
    expect(() => readFileSync(join(workDir, 'never.png'))).toThrow(/ENOENT/);
  });

  it('refuses at load a kind that declares a command but no plan', () => {
    // Prepare
    const { plan: _plan, ...noPlan } = stillKind();

    // Act
    const load = () => commandWork(noPlan);

    // Assess
    expect(load).toThrow('kind "still" declares a command but no plan');
  });
});
