import {
  LambdaClient,
  ListEventSourceMappingsCommand,
  ListFunctionsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
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
 * after 1 s. The audit writer's mapping is disabled while the upload's audit event arrives
 * and enabled once the event is older than that, so it is spilled to the audit DLQ instead of
 * audited. (Waiting for the mapping's 5 s batching window is not enough everywhere: LocalStack
 * 4.14.0 hands a lone message over at once.)
 * `redrive dlq` (SQS StartMessageMoveTask, the CLI's code) moves it back, and the
 * redriven message is audited whatever its age (it carries `overflow-spilled-from`;
 * the spill's attributes and the Spilled count are asserted in test/unit/overflow.test.ts).
 */
const target = inject('e2eTarget');

/** The variant's spill age (auditStaleAfter). */
const STALE_AFTER_MS = 1000;

const VARIANTS = {
  VideoPipelineSpill: { auditStaleAfter: Duration.millis(STALE_AFTER_MS) },
} satisfies Record<string, VideoPipelineStackProps>;

/** The audit writer's event source mapping, turned off and on as an operator would. */
const auditConsumer = async (stack: { endpoint: string; region: string }) => {
  const lambda = new LambdaClient({ endpoint: stack.endpoint, region: stack.region, credentials });
  const { Functions = [] } = await lambda.send(new ListFunctionsCommand({}));
  const name = Functions.map((f) => f.FunctionName ?? '').find((n) =>
    /^VideoPipelineSpill-UploadAudit/.test(n)
  );
  if (!name) throw new Error('no UploadAudit function in VideoPipelineSpill');
  return async (enabled: boolean) => {
    if (target.name === 'local') {
      // The local runtime's operator switch for a mapping (local-runtime/README.md).
      const res = await fetch(new URL(`/_local/esm/${encodeURIComponent(name)}`, stack.endpoint), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ enabled }),
      });
      if (!res.ok) throw new Error(`/_local/esm/${name}: ${res.status} ${await res.text()}`);
      return;
    }
    const { EventSourceMappings = [] } = await lambda.send(
      new ListEventSourceMappingsCommand({ FunctionName: name })
    );
    for (const m of EventSourceMappings) {
      await lambda.send(new UpdateEventSourceMappingCommand({ UUID: m.UUID, Enabled: enabled }));
    }
    const want = enabled ? 'Enabled' : 'Disabled';
    await poll(
      `the audit mapping ${want}`,
      async () => {
        const { EventSourceMappings: now = [] } = await lambda.send(
          new ListEventSourceMappingsCommand({ FunctionName: name })
        );
        return now.length > 0 && now.every((m) => m.State === want);
      },
      60_000,
      { intervalMs: 500 }
    );
  };
};

/**
 * Known LocalStack gap (seen 2026-12-07): its SQS mapping hands a lone message to the function
 * at once (no MaximumBatchingWindowInSeconds wait), and after UpdateEventSourceMapping
 * Enabled=false reports State Disabled it still delivered the next message 0.3 s later, so
 * the audit event never ages in the queue there. The spill itself is plain SQS (SendMessage to
 * the DLQ, StartMessageMoveTask back), which LocalStack runs as AWS does.
 */
const elsewhere =
  target.name === 'local'
    ? undefined
    : target.name === 'localstack'
      ? 'known LocalStack 4.14.0 gap: its SQS event source mapping delivers a message at once, ignoring the batching window, and keeps delivering after it reports Disabled, so no message ever waits long enough to be spilled'
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
    const setAuditConsumer = await auditConsumer(stack);
    await setAuditConsumer(false);

    // Act: upload; the audit event waits in its queue until it is older than 1 s, then the
    // writer is turned back on and meets it
    const fileName = `spill-${Date.now().toString(36)}.mp4`;
    const videoId = await variants.upload(
      'VideoPipelineSpill',
      clip,
      `uploads/e2e-overflow/${fileName}`
    );
    const queued = async () => {
      const res = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: outputs.UploadAuditQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        })
      );
      return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) >= 1;
    };
    await poll('the audit event in the audit queue', queued, 60_000, { intervalMs: 200 });
    const seenAt = Date.now();
    // The policy's trigger is the message's age: wait until it is past the 1 s it allows.
    await poll(
      'the audit event older than the spill age',
      async () => Date.now() - seenAt > STALE_AFTER_MS * 2,
      10_000,
      { intervalMs: 100 }
    );
    await setAuditConsumer(true);
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
