import { readFileSync } from 'node:fs';
import { DescribeExecutionCommand, type DescribeExecutionOutput } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Manifest } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { E2E_TENANT_QUOTAS } from './stack-config.js';
import { clientsFor, readOutputs } from './target.js';
import { manifestIfWritten, putUpload } from './videos.js';

/**
 * Tenant quotas end to end: the suite's app (test/e2e/app.ts) holds tenant
 * `e2e-noisy` to 3 running workflows. It uploads 10 videos at the same time
 * as `e2e-quiet` uploads 1; the quiet tenant's video must not wait for all of
 * the noisy tenant's, and every video must end COMPLETE.
 */
const target = inject('e2eTarget');
const runId = `${Date.now().toString(36)}`;
const NOISY = 'e2e-noisy';
const QUIET = 'e2e-quiet';
const NOISY_UPLOADS = 10;

describeE2E(target)(`tenants end to end on ${target.name}`, () => {
  let out: ReturnType<typeof readOutputs>;
  let aws: ReturnType<typeof clientsFor>;

  beforeAll(() => {
    out = readOutputs(target.outputsFile);
    aws = clientsFor(target);
  });

  afterAll(() => {
    cleanupMedia();
  });

  const upload = async (body: Buffer, key: string) =>
    (await putUpload(aws.s3, out.UploadBucketName, key, body)).videoId;

  const manifestOf = (videoId: string): Promise<Manifest> =>
    poll(
      `manifest of ${videoId}`,
      () => manifestIfWritten(aws.s3, out.OutputBucketName, videoId),
      // The noisy tenant's last videos wait for three rounds of its quota, with backoff.
      540_000,
      { intervalMs: 1000 }
    );

  /** The ended execution: the manifest is written a few states before the execution ends. */
  const executionOf = async (videoId: string): Promise<DescribeExecutionOutput> => {
    const executionArn = `${out.StateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;
    return poll(
      `execution ${videoId} to end`,
      async () => {
        const e = await aws.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return e.status !== 'RUNNING' && e;
      },
      60_000,
      { intervalMs: 250 }
    );
  };

  it('a quiet tenant is not starved by a tenant over its quota, and every video ends COMPLETE', async () => {
    // Prepare: tiny clips, one file uploaded under distinct keys (distinct videos).
    const clip = readFileSync(
      await makeClip({ seconds: 1, width: 160, height: 120, audio: false })
    );
    const noisyQuota = E2E_TENANT_QUOTAS.tenants[NOISY];

    // Act: all eleven uploads at once.
    const [quietId, ...noisyIds] = await Promise.all([
      upload(clip, `uploads/${QUIET}/${runId}/quiet.mp4`),
      ...Array.from({ length: NOISY_UPLOADS }, (_, i) =>
        upload(clip, `uploads/${NOISY}/${runId}/noisy-${i}.mp4`)
      ),
    ]);
    const manifests = await Promise.all([quietId, ...noisyIds].map(manifestOf));
    const quiet = await executionOf(quietId);
    const noisy = await Promise.all(noisyIds.map(executionOf));

    // Assess: every video COMPLETE, each manifest naming its tenant.
    // Soft, so a failed branch (e.g. a cold start past Lambda's 10 s init limit on an
    // overloaded machine) still lets the ordering below be checked and reported.
    expect
      .soft(manifests.map((m) => [m.tenant, m.status]))
      .toEqual([[QUIET, 'COMPLETE'], ...noisyIds.map(() => [NOISY, 'COMPLETE'])]);
    // The quota held the noisy tenant back: some of its videos started only
    // after others of its own had finished.
    const noisyStarts = noisy.map((e) => e.startDate!.getTime());
    const noisyStops = noisy.map((e) => e.stopDate!.getTime());
    const lastNoisyStart = Math.max(...noisyStarts);
    expect(lastNoisyStart).toBeGreaterThan(Math.min(...noisyStops));
    // The quiet tenant did not wait for all of them.
    expect(quiet.startDate!.getTime()).toBeLessThan(lastNoisyStart);
    const overlap = Math.max(
      ...noisyStarts.map(
        (s) => noisyStarts.filter((start, i) => start <= s && noisyStops[i]! > s).length
      )
    );
    const startedAfterQuiet = noisyStarts.filter((s) => s > quiet.startDate!.getTime()).length;
    console.info(
      `[tenants e2e] ${target.name}: ${NOISY} (quota ${noisyQuota}) had at most ${overlap} ` +
        `executions running at once; ${startedAfterQuiet} of its ${NOISY_UPLOADS} started ` +
        `after ${QUIET}'s`
    );
    // The quota is exact (admission leases): at most max(1, 10%) over it.
    expect(overlap).toBeLessThanOrEqual(noisyQuota + Math.max(1, Math.ceil(noisyQuota * 0.1)));
  }, 600_000);
});
