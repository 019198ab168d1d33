export interface QueueSpec {
  logicalId: string;
  name: string;
  arn: string;
  url: string;
  attributes: Record<string, string>;
  deadLetterTargetArn?: string;
}
export interface TopicSpec {
  logicalId: string;
  name: string;
  arn: string;
  attributes: Record<string, string>;
}
export interface SubscriptionSpec {
  logicalId: string;
  topicArn: string;
  queueArn: string;
  attributes: Record<string, string>;
}
export type NotificationTarget =
  | { kind: 'topic'; arn: string }
  | { kind: 'queue'; arn: string }
  | { kind: 'lambda'; arn: string };
export interface NotificationRule {
  id: string;
  events: string[];
  prefix?: string;
  suffix?: string;
  target: NotificationTarget;
}
export interface BucketSpec {
  logicalId: string;
  name: string;
  arn: string;
  notifications: NotificationRule[];
}
export interface FunctionSpec {
  logicalId: string;
  name: string;
  arn: string;
  runtime: string;
  handler: string;
  codeDir?: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  /** EphemeralStorage.Size: the /tmp Lambda gives each environment (512–10,240 MiB). */
  ephemeralStorageMiB: number;
  reservedConcurrency?: number;
  layerBinDirs: string[];
  /** DeadLetterConfig.TargetArn: where an asynchronous event goes after Lambda's retries. */
  deadLetterTargetArn?: string;
  /** Set when the function cannot run here (non-Node runtime, inline code): invoking it fails with this reason. */
  notRunnable?: string;
}
export interface EventSourceMappingSpec {
  logicalId: string;
  queueArn: string;
  functionName: string;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  maxConcurrency?: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
}
export interface StateMachineSpec {
  logicalId: string;
  name: string;
  arn: string;
  type: string;
  definition: Record<string, unknown>;
  /**
   * The features of its definition the runtime cannot run (asl-support.ts), when the stack
   * was started with `allowPartial`: the machine is listed, its executions are refused.
   */
  unsupported?: string[];
}
/** One target of an EventBridge rule (Lambda functions only, locally). */
export interface EventTargetSpec {
  id: string;
  arn: string;
  /** Constant Input (JSON text) or InputPath; neither: the whole event. */
  input?: string;
  inputPath?: string;
  deadLetterArn?: string;
  /** RetryPolicy; EventBridge's defaults (185, 86400 s) when absent. */
  maxRetryAttempts?: number;
  maxEventAgeSeconds?: number;
}
/** An AWS::Events::Rule on the default bus with an event pattern. */
export interface EventRuleSpec {
  logicalId: string;
  name: string;
  arn: string;
  enabled: boolean;
  /** Absent on a scheduled rule without a pattern. */
  eventPattern?: Record<string, unknown>;
  /** A scheduled rule's interval (events/schedule.ts). */
  scheduleEveryMs?: number;
  targets: EventTargetSpec[];
}
export interface StackModel {
  stackName: string;
  region: string;
  accountId: string;
  endpoint: string;
  queues: QueueSpec[];
  topics: TopicSpec[];
  subscriptions: SubscriptionSpec[];
  buckets: BucketSpec[];
  functions: FunctionSpec[];
  eventSourceMappings: EventSourceMappingSpec[];
  stateMachines: StateMachineSpec[];
  eventRules: EventRuleSpec[];
  outputs: Record<string, string>;
  noLocalEffect: Array<{ logicalId: string; type: string }>;
}
