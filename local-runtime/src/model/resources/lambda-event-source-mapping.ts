import { UnsupportedResourceError } from '../../errors.js';
import type { ResourceType } from '../resource-type.js';
import { functionNameFrom } from './lambda-function.js';

export const lambdaEventSourceMapping: ResourceType = {
  type: 'AWS::Lambda::EventSourceMapping',
  phase: 1,
  localEffect: true,
  physical: (id, _r, ctx) => ({
    ref: `esm-${id}`,
    attrs: { EventSourceMappingArn: ctx.arn('lambda', `event-source-mapping:${id}`) },
  }),
  extract(id, r, p, _phys, { model }) {
    const source = String(p.EventSourceArn ?? '');
    if (!source.startsWith('arn:aws:sqs:')) {
      throw new UnsupportedResourceError(
        r.Type,
        id,
        `event source ${source} (only SQS queues are polled locally)`
      );
    }
    const scaling = p.ScalingConfig as { MaximumConcurrency?: number } | undefined;
    model.eventSourceMappings.push({
      logicalId: id,
      queueArn: source,
      functionName: functionNameFrom(String(p.FunctionName)),
      batchSize: Number(p.BatchSize ?? 10),
      maxBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
      maxConcurrency: scaling?.MaximumConcurrency,
      reportBatchItemFailures: ((p.FunctionResponseTypes as string[]) ?? []).includes(
        'ReportBatchItemFailures'
      ),
      enabled: p.Enabled === undefined ? true : p.Enabled === true || p.Enabled === 'true',
    });
  },
};
