import { physicalName, pickAttributes, type ResourceType } from '../resource-type.js';

export const sqsQueue: ResourceType = {
  type: 'AWS::SQS::Queue',
  phase: 1,
  localEffect: true,
  physical(id, r, ctx) {
    const fifo = r.Properties?.FifoQueue === true || r.Properties?.FifoQueue === 'true';
    const base =
      ctx.explicitName(r, 'QueueName') ?? physicalName(ctx.stackName, id, fifo ? 75 : 80);
    const name = fifo && !base.endsWith('.fifo') ? `${base}.fifo` : base;
    const url = `${ctx.host}/${ctx.accountId}/${name}`;
    return { ref: url, attrs: { Arn: ctx.arn('sqs', name), QueueName: name, QueueUrl: url } };
  },
  extract(id, _r, p, phys, { model }) {
    const attributes = pickAttributes(p, [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'DelaySeconds',
      'MaximumMessageSize',
      'ReceiveMessageWaitTimeSeconds',
      'FifoQueue',
      'ContentBasedDeduplication',
      'DeduplicationScope',
      'FifoThroughputLimit',
    ]);
    const redrive = p.RedrivePolicy as
      | { deadLetterTargetArn?: string; maxReceiveCount?: number }
      | undefined;
    if (redrive) attributes.RedrivePolicy = JSON.stringify(redrive);
    model.queues.push({
      logicalId: id,
      name: phys.attrs.QueueName,
      arn: phys.attrs.Arn,
      url: phys.ref,
      attributes,
      deadLetterTargetArn: redrive?.deadLetterTargetArn,
    });
  },
};
