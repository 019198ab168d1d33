import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { afterAll, expect, inject, it } from 'vitest';
import {
  discoverDeadLetterQueues,
  resolveDeadLetterQueue,
  runRedriveDlq,
} from '../../cli/src/index.js';
import { auditKey, UploadAuditRecordSchema } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import type { VideoPipelineStackProps } from '../../lib/stacks/video-pipeline-stack.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { credentials, useVariantStacks } from './variant-stacks.js';

/**
 * The overflow policy `spill`, end to end, on a variant stack whose audit queue spills
 * after 1 s: the audit writer gathers "100 uploads or 5 s", so an upload's audit event is
 * older than 1 s when it is handed over and is spilled to the audit DLQ instead of audited.
 * `redrive dlq` (SQS StartMessageMoveTask, the CLI's code) moves it back, and the
 * redriven message is audited whatever its age (it carries `overflow-spilled-from`;
 * the spill's attributes and the Spilled count are asserted in test/unit/overflow.test.ts).
 */
const target = inject('e2eTarget');

const VARIANTS = {
  VideoPipelineSpill: { auditStaleAfter: Duration.seconds(1) },
} satisfies Record<string, VideoPipelineStackProps>;

const elsewhere = ['local', 'localstack'].includes(target.name)
  ? undefined
  : `the overflow variant stack is deployed only to the local runtime and LocalStack, not ${target.name}`;

describeE2E(target, elsewhere)(`overflow policy spill on a variant stack (${target.name})`, () => {
  const variants = useVariantStacks(target, VARIANTS);
  afterAll(() => cleanupMedia());

  it('spills an audit event that waited too long, and audits it once redriven', async () => {
    // Prepare
    const stack = variants.of('VideoPipelineSpill');
    const sqs = new SQSClient({ endpoint: stack.endpoint, region: stack.region, credentials });
    const outputs = stack.outputs;
    const clip = await makeClip({ seconds: 1, width: 160, height: 90 });

    // Act: upload; the audit event reaches the audit writer older than 1 s
    const fileName = `spill-${Date.now().toString(36)}.mp4`;
    const videoId = await variants.upload(
      'VideoPipelineSpill',
      clip,
      `uploads/e2e-overflow/${fileName}`
    );
    // Not received here: a receive would hide it from the redrive for the DLQ's visibility timeout.
    await poll(
      'the spilled audit event in the audit DLQ',
      async () => {
        const res = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: outputs.UploadAuditDeadLetterQueueUrl,
            AttributeNames: ['ApproximateNumberOfMessages'],
          })
        );
        return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) >= 1;
      },
      120_000,
      { intervalMs: 1000 }
    );
    const auditedBefore = await variants.readOutput('VideoPipelineSpill', auditKey(videoId));
    const dlqs = await discoverDeadLetterQueues(
      sqs,
      Object.fromEntries(Object.entries(outputs).filter(([k]) => k.endsWith('QueueUrl')))
    );
    const result = await runRedriveDlq(
      sqs,
      resolveDeadLetterQueue('UploadAuditDeadLetterQueue', dlqs),
      { write: () => true },
      { targetName: target.name, intervalMs: 500, timeoutMs: 60_000 }
    );
    expect(result).toMatchObject({ status: 'COMPLETED', moved: 1 });
    const audit = await poll(
      `the audit record ${auditKey(videoId)} after the redrive`,
      () => variants.readOutput('VideoPipelineSpill', auditKey(videoId)),
      120_000,
      { intervalMs: 1000 }
    );

    // Assess
    expect(auditedBefore).toBeUndefined();
    expect(UploadAuditRecordSchema.parse(JSON.parse(audit.toString('utf8')))).toMatchObject({
      videoId,
      missing: false,
    });
    sqs.destroy();
  });
});
