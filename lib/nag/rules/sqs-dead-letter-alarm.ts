import { type CfnResource, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagRuleCompliance } from 'cdk-nag';

/** The metric that says a DLQ holds messages (SQS publishes it per QueueName). */
export const DLQ_DEPTH_METRIC = 'ApproximateNumberOfMessagesVisible';

const getAttOf = (value: unknown): [string, string] | undefined =>
  (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];

/** The logical ids of queues some other resource names as its dead-letter target. */
export const deadLetterTargets = (stack: Stack): Set<string> => {
  const targets = new Set<string>();
  for (const c of stack.node.findAll()) {
    const redrive =
      c instanceof sqs.CfnQueue || c instanceof sns.CfnSubscription
        ? (stack.resolve(c.redrivePolicy) as { deadLetterTargetArn?: unknown } | undefined)
        : undefined;
    const target = getAttOf(redrive?.deadLetterTargetArn);
    if (target?.[1] === 'Arn') targets.add(target[0]);
  }
  return targets;
};

/**
 * A dead-letter queue (an SQS redrive target or an SNS subscription's delivery
 * DLQ) has a CloudWatch alarm on its depth with an action: a message there is a
 * failure nobody retries, so someone must be told. N/A for queues nothing
 * dead-letters into, and for targets outside this stack.
 */
export const SQSDeadLetterAlarm = (node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof sqs.CfnQueue)) return NagRuleCompliance.NOT_APPLICABLE;
  const stack = Stack.of(node);
  const logicalId = stack.resolve(node.logicalId) as string;
  if (!deadLetterTargets(stack).has(logicalId)) return NagRuleCompliance.NOT_APPLICABLE;
  const alarmed = stack.node.findAll().some((c) => {
    if (!(c instanceof cloudwatch.CfnAlarm) || c.metricName !== DLQ_DEPTH_METRIC) return false;
    const dimensions = (stack.resolve(c.dimensions) ?? []) as Array<{
      name: string;
      value: unknown;
    }>;
    const actions = (stack.resolve(c.alarmActions) ?? []) as unknown[];
    return (
      actions.length > 0 &&
      dimensions.some((d) => d.name === 'QueueName' && getAttOf(d.value)?.[0] === logicalId)
    );
  });
  return alarmed ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
};
