import { UnsupportedResourceError } from '../../errors.js';
import { physicalName, pickAttributes, type ResourceType } from '../resource-type.js';

export const snsTopic: ResourceType = {
  type: 'AWS::SNS::Topic',
  phase: 1,
  localEffect: true,
  physical(id, r, ctx) {
    const name = ctx.explicitName(r, 'TopicName') ?? physicalName(ctx.stackName, id, 256);
    const arn = ctx.arn('sns', name);
    return { ref: arn, attrs: { TopicArn: arn, TopicName: name } };
  },
  extract(id, r, p, phys, { model }) {
    const attributes = pickAttributes(p, ['DisplayName', 'FifoTopic', 'ContentBasedDeduplication']);
    model.topics.push({ logicalId: id, name: phys.attrs.TopicName, arn: phys.ref, attributes });
    // Inline `Subscription` list on the topic is the older CFN shape; treat it like separate subscriptions.
    for (const [i, s] of ((p.Subscription as Array<Record<string, string>>) ?? []).entries()) {
      if (s.Protocol !== 'sqs') {
        throw new UnsupportedResourceError(
          r.Type,
          id,
          `subscription protocol "${s.Protocol}" (only sqs is delivered locally)`
        );
      }
      model.subscriptions.push({
        logicalId: `${id}.Subscription${i}`,
        topicArn: phys.ref,
        queueArn: s.Endpoint,
        attributes: {},
      });
    }
  },
};
