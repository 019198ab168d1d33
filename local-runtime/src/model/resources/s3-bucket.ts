import { nativeShape, notificationRules } from '../notifications.js';
import { physicalName, type ResourceType } from '../resource-type.js';
import type { BucketSpec } from '../types.js';

export const s3Bucket: ResourceType = {
  type: 'AWS::S3::Bucket',
  phase: 1,
  localEffect: true,
  physical(id, r, ctx) {
    const name = ctx.explicitName(r, 'BucketName') ?? physicalName(ctx.stackName, id, 63, true);
    return {
      ref: name,
      attrs: {
        Arn: `arn:aws:s3:::${name}`,
        DomainName: `${name}.s3.amazonaws.com`,
        RegionalDomainName: `${name}.s3.${ctx.region}.amazonaws.com`,
        WebsiteURL: `http://${name}.s3-website-${ctx.region}.amazonaws.com`,
      },
    };
  },
  extract(id, _r, p, phys, { model, bucketsByName }) {
    const bucket: BucketSpec = {
      logicalId: id,
      name: phys.ref,
      arn: phys.attrs.Arn,
      notifications: notificationRules(p.NotificationConfiguration, nativeShape),
    };
    model.buckets.push(bucket);
    bucketsByName.set(bucket.name, bucket);
  },
};
