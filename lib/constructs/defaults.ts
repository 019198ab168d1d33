import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';

/**
 * Secure defaults, in the order Solutions Constructs merges them:
 * `{ ...SECURE_DEFAULTS, ...userProps, ...requiredProps }`. A user can loosen a
 * default on purpose; nobody can remove what the construct needs to work.
 */

/** SSE-SQS (no per-request KMS charge, and SNS can deliver to it without a key policy). */
export const SECURE_QUEUE_DEFAULTS: sqs.QueueProps = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
  retentionPeriod: Duration.days(4),
};

/** DLQs keep messages as long as SQS allows, so an operator has time to redrive. */
export const SECURE_DLQ_DEFAULTS: sqs.QueueProps = {
  ...SECURE_QUEUE_DEFAULTS,
  retentionPeriod: Duration.days(14),
};

export const SECURE_BUCKET_DEFAULTS: s3.BucketProps = {
  encryption: s3.BucketEncryption.S3_MANAGED,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  versioned: true,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
  lifecycleRules: [
    { abortIncompleteMultipartUploadAfter: Duration.days(7) },
    { noncurrentVersionExpiration: Duration.days(30) },
  ],
};
