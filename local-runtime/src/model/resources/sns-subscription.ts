import { UnsupportedResourceError } from '../../errors.js';
import { pickAttributes, type ResourceType } from '../resource-type.js';

export const snsSubscription: ResourceType = {
  type: 'AWS::SNS::Subscription',
  phase: 1,
  localEffect: true,
  physical: (id, _r, ctx) => ({ ref: ctx.arn('sns', `subscription:${id}`), attrs: {} }),
  extract(id, r, p, _phys, { model }) {
    if (p.Protocol !== 'sqs') {
      throw new UnsupportedResourceError(
        r.Type,
        id,
        `protocol "${String(p.Protocol)}" (only sqs is delivered locally)`
      );
    }
    model.subscriptions.push({
      logicalId: id,
      topicArn: String(p.TopicArn),
      queueArn: String(p.Endpoint),
      attributes: pickAttributes(p, [
        'RawMessageDelivery',
        'FilterPolicyScope',
        'FilterPolicy',
        'RedrivePolicy',
      ]),
    });
  },
};
