import type { ResourceType } from './resource-type.js';
import { eventsRule } from './resources/events-rule.js';
import { lambdaEventSourceMapping } from './resources/lambda-event-source-mapping.js';
import { lambdaFunction } from './resources/lambda-function.js';
import { lambdaLayer } from './resources/lambda-layer.js';
import { iamRole, kmsKey, logGroup, noLocalEffect } from './resources/no-local-effect.js';
import { s3Bucket } from './resources/s3-bucket.js';
import { s3BucketNotifications } from './resources/s3-bucket-notifications.js';
import { sfnStateMachine } from './resources/sfn-state-machine.js';
import { snsSubscription } from './resources/sns-subscription.js';
import { snsTopic } from './resources/sns-topic.js';
import { sqsQueue } from './resources/sqs-queue.js';

/** Every type the runtime accepts; anything else is rejected by name at start. */
const TYPES: ResourceType[] = [
  sqsQueue,
  snsTopic,
  snsSubscription,
  s3Bucket,
  s3BucketNotifications,
  lambdaLayer,
  lambdaFunction,
  lambdaEventSourceMapping,
  sfnStateMachine,
  eventsRule,
  iamRole,
  noLocalEffect('AWS::IAM::Policy'),
  noLocalEffect('AWS::IAM::ManagedPolicy'),
  kmsKey,
  noLocalEffect('AWS::KMS::Alias'),
  logGroup,
  noLocalEffect('AWS::S3::BucketPolicy'),
  noLocalEffect('AWS::SNS::TopicPolicy'),
  noLocalEffect('AWS::SQS::QueuePolicy'),
  noLocalEffect('AWS::CloudWatch::Alarm'),
  noLocalEffect('AWS::CloudWatch::Dashboard'),
  noLocalEffect('AWS::Lambda::Permission'),
  noLocalEffect('AWS::CDK::Metadata'),
  // CDK adds these for `autoDeleteObjects` / `logRetention`; they only matter on teardown/retention.
  noLocalEffect('Custom::S3AutoDeleteObjects'),
  noLocalEffect('Custom::LogRetention'),
];

export const RESOURCE_TYPES: ReadonlyMap<string, ResourceType> = new Map(
  TYPES.map((t) => [t.type, t])
);
