import '../../helpers/env.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { KINDS, type KindDescriptor } from '../../../kinds/index.js';
import {
  AnyBranchSchema,
  BRANCH_KINDS,
  type BranchKind,
  DEFAULT_PLAN_CONFIG,
  kindOf,
  planBranches,
} from '../../../lambdas/branch-kinds/index.js';
import { runBranch } from '../../../lambdas/run-branch/logic.js';
import { s3 } from '../../../lambdas/shared/s3.js';
import { branchInputFactory, probeFactory } from '../../helpers/factories.js';

/**
 * The iterating tests in registry.test.ts would still pass if the plan, the
 * schema union or the dispatch were hand-written lists that happen to match
 * the registered kinds. Here one registration slot holds a kind no other code
 * has ever seen (its descriptor in kinds/, its work in lambdas/branch-kinds/work/,
 * found there by its file name); everything derived from the registry must pick it up.
 */
vi.mock('../../../kinds/metadata.js', async () => {
  const z = await import('zod/mini');
  const schema = z.object({
    id: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/)),
    kind: z.literal('trial-echo'),
    text: z.string(),
  });
  const descriptor: KindDescriptor<typeof schema> = {
    kind: 'trial-echo',
    schema,
    sizing: { memoryMiB: 128, timeoutSeconds: 10, ephemeralStorageMiB: 512, usesFfmpeg: false },
    runBy: 'fan-out',
    policy: { role: 'secondary' },
    playable: false,
  };
  return { metadataKind: descriptor };
});
// Its work is found by its file name, as every kind's is; no file holds it, so the finder is given it.
vi.mock('../../../lambdas/branch-kinds/find-work.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../lambdas/branch-kinds/find-work.js')>();
  const { metadataKind: descriptor } = await import('../../../kinds/metadata.js');
  const trial: BranchKind = {
    ...(descriptor as unknown as KindDescriptor),
    plan: (probe) => [{ id: 'echo', kind: 'trial-echo', text: `${probe.width}x${probe.height}` }],
    run: async (branch, { videoId }) => [
      {
        key: `outputs/${videoId}/echo.txt`,
        contentType: 'text/plain',
        body: Buffer.from(String(branch.text)),
      },
    ],
  };
  return {
    importWork: (kind: string) =>
      kind === 'trial-echo' ? Promise.resolve({ default: trial }) : real.importWork(kind),
  };
});

const s3Mock = mockClient(s3);

describe('a kind the code has never seen, in one registration slot', () => {
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
  });

  it('is in both registries in place of metadata', () => {
    // Assess
    expect(KINDS.map((k) => k.kind)).toEqual(BRANCH_KINDS.map((k) => k.kind));
    const names = KINDS.map((k) => k.kind);
    expect(names).toContain('trial-echo');
    expect(names).not.toContain('metadata');
  });

  it('is planned, accepted by the schema union and dispatched; the slot it replaced is unknown', () => {
    // Prepare
    const probe = probeFactory({ width: 1280, height: 720 });

    // Act
    const { branches } = planBranches(probe, DEFAULT_PLAN_CONFIG);

    // Assess
    const echo = branches.filter((b) => b.kind === 'trial-echo');
    expect(echo).toEqual([{ id: 'echo', kind: 'trial-echo', text: '1280x720' }]);
    expect(AnyBranchSchema.safeParse(echo[0]).success).toBe(true);
    expect(kindOf(echo[0]).kind).toBe('trial-echo');
    expect(branches.some((b) => b.kind === 'metadata')).toBe(false);
    expect(AnyBranchSchema.safeParse({ id: 'metadata', kind: 'metadata' }).success).toBe(false);
    expect(() => kindOf({ kind: 'metadata' })).toThrow('unknown branch kind "metadata"');
  });

  it('runs through the generic runner: artifact uploaded, record written in the manifest shape', async () => {
    // Prepare
    const input = branchInputFactory(
      { id: 'echo', kind: 'trial-echo', text: 'hello' },
      { videoId: 'clip-0123456789abcdef' }
    );

    // Act
    const ref = await runBranch(input, {
      outputBucket: 'output-bucket',
      timeBudget: () => 10_000,
      sourceUrl: async () => 'http://127.0.0.1:9/unused',
    });

    // Assess
    expect(ref).toEqual({ id: 'echo', status: 'SUCCEEDED' });
    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual([
      'outputs/clip-0123456789abcdef/echo.txt',
      'outputs/clip-0123456789abcdef/_work/branches/echo.json',
    ]);
    expect(String(puts[0].Body)).toBe('hello');
    expect(JSON.parse(String(puts[1].Body))).toMatchObject({
      id: 'echo',
      kind: 'trial-echo',
      status: 'SUCCEEDED',
      artifacts: [
        {
          key: 'outputs/clip-0123456789abcdef/echo.txt',
          contentType: 'text/plain',
          bytes: 5,
        },
      ],
    });
  });
});
