import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

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

/** TLS-only publishing; the key is a required prop of TopicFanOut, not a default. */
export const SECURE_TOPIC_DEFAULTS: sns.TopicProps = {
  enforceSSL: true,
};

/** Traced, structured-log functions on the runtime cdk-nag's L1 rule calls latest. */
export const SECURE_FUNCTION_DEFAULTS: nodejs.NodejsFunctionProps = {
  runtime: lambda.Runtime.NODEJS_24_X,
  tracing: lambda.Tracing.ACTIVE,
  loggingFormat: lambda.LoggingFormat.JSON,
};

/**
 * Standard (exactly-once per execution name) and traced. Logging at ALL is a
 * default too, but it needs the construct's log group, so the construct adds it.
 */
export const SECURE_STATE_MACHINE_DEFAULTS: sfn.StateMachineProps = {
  stateMachineType: sfn.StateMachineType.STANDARD,
  tracingEnabled: true,
};
