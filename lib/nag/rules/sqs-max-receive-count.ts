import { type CfnResource, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagRuleCompliance } from 'cdk-nag';

/** Below this, a few throttled or timed-out receives move a healthy message to the DLQ. */
export const MIN_MAX_RECEIVE_COUNT = 5;

/**
 * A queue's redrive policy lets a message be received at least 5 times before
 * it moves to the DLQ. N/A for a queue without a redrive policy (AwsSolutions-SQS3
 * and Serverless-SQSRedrivePolicy cover a missing DLQ).
 */
export const SQSRedriveMaxReceiveCount = (node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof sqs.CfnQueue)) return NagRuleCompliance.NOT_APPLICABLE;
  const redrive = Stack.of(node).resolve(node.redrivePolicy) as
    | { maxReceiveCount?: unknown }
    | undefined;
  if (redrive === undefined) return NagRuleCompliance.NOT_APPLICABLE;
  const count = redrive.maxReceiveCount;
  if (typeof count !== 'number') return NagRuleCompliance.NON_COMPLIANT;
  return count >= MIN_MAX_RECEIVE_COUNT
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
};
