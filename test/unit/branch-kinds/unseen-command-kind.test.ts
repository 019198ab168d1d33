import '../../helpers/env.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanupMedia, makeClip } from '../../../fixtures/media.js';
import { KINDS } from '../../../kinds/index.js';
import {
  AnyBranchSchema,
  BRANCH_KINDS,
  DEFAULT_PLAN_CONFIG,
  kindOf,
  planBranches,
} from '../../../lambdas/branch-kinds/index.js';
import { runBranch } from '../../../lambdas/run-branch/logic.js';
import { s3 } from '../../../lambdas/shared/s3.js';
import { branchInputFactory, probeFactory } from '../../helpers/factories.js';

/**
 * trial-kind.test.ts stands an unseen kind with a work/ module in a
 * registration slot; here the slot holds an unseen kind declared by its
 * descriptor alone (plan + command, no work/ module anywhere), so the
 * registry must hand it to the generic runner and a real ffmpeg must run it.
 */
vi.mock('../../../kinds/thumbnail.js', async () => {
  const z = await import('zod/mini');
  const { defineKind } = await import('../../../kinds/descriptor.js');
  const schema = z.object({
    id: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/)),
    kind: z.literal('trial-still'),
    atSec: z.number(),
  });
  return {
    thumbnailKind: defineKind({
      kind: 'trial-still',
      schema,
      sizing: { memoryMiB: 512, timeoutSeconds: 60, ephemeralStorageMiB: 512, usesFfmpeg: true },
      runBy: 'fan-out',
      policy: { role: 'secondary' },
      playable: false,
      plan: (probe) => [
        { id: 'still', kind: 'trial-still' as const, atSec: probe.durationSec / 2 },
      ],
      command: ({ branch, input, out }) => ({
        args: ['-ss', String(branch.atSec), '-i', input, '-frames:v', '1', out('still.png')],
        outputs: { 'still.png': { contentType: 'image/png', publishAs: 'stills/middle.png' } },
      }),
    }),
  };
});

const s3Mock = mockClient(s3);
afterAll(cleanupMedia);

describe('a command kind the code has never seen, in one registration slot', () => {
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
  });

  it('is registered, planned, accepted by the schema union and dispatched in place of thumbnail', () => {
    // Act
    const { branches } = planBranches(probeFactory({ durationSec: 2 }), DEFAULT_PLAN_CONFIG);

    // Assess
    expect(KINDS.map((k) => k.kind)).toEqual(BRANCH_KINDS.map((k) => k.kind));
    expect(KINDS.map((k) => k.kind)).not.toContain('thumbnail');
    const still = branches.filter((b) => b.kind === 'trial-still');
    expect(still).toEqual([{ id: 'still', kind: 'trial-still', atSec: 1 }]);
    expect(AnyBranchSchema.safeParse(still[0]).success).toBe(true);
    expect(kindOf(still[0]).kind).toBe('trial-still');
    expect(branches.some((b) => b.kind === 'thumbnail')).toBe(false);
  });

  it('runs its command with ffmpeg on a generated clip: PNG uploaded, record in the manifest shape', async () => {
    // Prepare
    const clip = await makeClip({ seconds: 2 });
    const input = branchInputFactory(
      { id: 'still', kind: 'trial-still', atSec: 1 },
      { videoId: 'clip-0123456789abcdef' }
    );

    // Act
    const ref = await runBranch(input, {
      outputBucket: 'output-bucket',
      timeBudget: () => 60_000,
      sourceUrl: async () => clip,
    });

    // Assess
    expect(ref).toEqual({ id: 'still', status: 'SUCCEEDED' });
    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual([
      'outputs/clip-0123456789abcdef/stills/middle.png',
      'outputs/clip-0123456789abcdef/_work/branches/still.json',
    ]);
    expect(puts[0].ContentType).toBe('image/png');
    const record = JSON.parse(String(puts[1].Body));
    expect(record).toMatchObject({
      id: 'still',
      kind: 'trial-still',
      status: 'SUCCEEDED',
      artifacts: [
        { key: 'outputs/clip-0123456789abcdef/stills/middle.png', contentType: 'image/png' },
      ],
    });
    expect(record.artifacts[0].bytes).toBeGreaterThan(8);
  });
});
