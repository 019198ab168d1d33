import { UnsupportedResourceError } from '../../errors.js';
import { apiShape, notificationRules } from '../notifications.js';
import { placeholderPhysical, type ResourceType } from '../resource-type.js';

/** CDK's custom resource for `bucket.addEventNotification`: its rules attach to a bucket of the stack. */
export const s3BucketNotifications: ResourceType = {
  type: 'Custom::S3BucketNotifications',
  // After the buckets, which may come later in the template.
  phase: 2,
  localEffect: true,
  physical: (id, _r, ctx) => placeholderPhysical(id, ctx),
  extract(id, r, p, _phys, { bucketsByName }) {
    const bucket = bucketsByName.get(String(p.BucketName));
    if (!bucket) {
      throw new UnsupportedResourceError(
        r.Type,
        id,
        `bucket ${String(p.BucketName)} is not in this stack`
      );
    }
    bucket.notifications.push(...notificationRules(p.NotificationConfiguration, apiShape));
  },
};
