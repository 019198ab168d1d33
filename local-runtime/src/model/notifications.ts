import type { NotificationRule, NotificationTarget } from './types.js';

function keyFilter(rules: KeyFilterRules) {
  const out: { prefix?: string; suffix?: string } = {};
  for (const rule of rules ?? []) {
    const name = String(rule.Name).toLowerCase();
    if (name === 'prefix') out.prefix = rule.Value;
    if (name === 'suffix') out.suffix = rule.Value;
  }
  return out;
}

type KeyFilterRules = Array<{ Name?: string; Value?: string }> | undefined;

/**
 * Where one shape of bucket notification configuration keeps each field: per target
 * kind, the key of its list and the key of the target ARN in each entry.
 */
interface NotificationShape {
  lists: Record<NotificationTarget['kind'], { list: string; arn: string }>;
  id(entry: Record<string, unknown>, kind: NotificationTarget['kind'], index: number): string;
  events(entry: Record<string, unknown>): string[];
  filterRules(entry: Record<string, unknown>): KeyFilterRules;
}

/** CloudFormation's AWS::S3::Bucket NotificationConfiguration shape (singular Event, Topic/Queue/Function). */
export const nativeShape: NotificationShape = {
  lists: {
    topic: { list: 'TopicConfigurations', arn: 'Topic' },
    queue: { list: 'QueueConfigurations', arn: 'Queue' },
    lambda: { list: 'LambdaConfigurations', arn: 'Function' },
  },
  id: (_entry, kind, i) => `${kind}-${i}`,
  events: (n) => [String(n.Event)],
  filterRules: (n) =>
    (n.Filter as { S3Key?: { Rules?: KeyFilterRules } } | undefined)?.S3Key?.Rules,
};

/** S3 API shape used by CDK's Custom::S3BucketNotifications (Events[], TopicArn/QueueArn/LambdaFunctionArn). */
export const apiShape: NotificationShape = {
  lists: {
    topic: { list: 'TopicConfigurations', arn: 'TopicArn' },
    queue: { list: 'QueueConfigurations', arn: 'QueueArn' },
    lambda: { list: 'LambdaFunctionConfigurations', arn: 'LambdaFunctionArn' },
  },
  id: (n, kind, i) => String(n.Id ?? `${kind}-${i}`),
  events: (n) => (n.Events as string[]) ?? [],
  filterRules: (n) =>
    (n.Filter as { Key?: { FilterRules?: KeyFilterRules } } | undefined)?.Key?.FilterRules,
};

/** One rule per configuration entry: topics first, then queues, then functions. */
export function notificationRules(config: unknown, shape: NotificationShape): NotificationRule[] {
  if (!config) return [];
  const c = config as Record<string, Array<Record<string, unknown>> | undefined>;
  const rules: NotificationRule[] = [];
  for (const kind of ['topic', 'queue', 'lambda'] as const) {
    const { list, arn } = shape.lists[kind];
    for (const [i, n] of (c[list] ?? []).entries()) {
      rules.push({
        id: shape.id(n, kind, i),
        events: shape.events(n),
        ...keyFilter(shape.filterRules(n)),
        target: { kind, arn: String(n[arn]) },
      });
    }
  }
  return rules;
}
