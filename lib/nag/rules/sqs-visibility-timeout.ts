import { type CfnResource, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagRuleCompliance } from 'cdk-nag';
import { findByLogicalId } from '../asl.js';

/** AWS's documented floor for an SQS event source: visibility ≥ 6 × the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
// What SQS and Lambda use when the template leaves the property out.
const SQS_DEFAULT_VISIBILITY_SECONDS = 30;
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;

/**
 * An SQS event source mapping whose queue's visibility timeout is at least 6 ×
 * the consumer's timeout. Shorter, and a message a slow (or retried) invocation
 * still holds becomes visible again and is processed twice. Checked on the
 * mapping, where the queue and the function meet; N/A when either is outside
 * this stack or a token.
 */
export const SQSVisibilityTimeout = (node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof lambda.CfnEventSourceMapping)) return NagRuleCompliance.NOT_APPLICABLE;
  const stack = Stack.of(node);
  const source = stack.resolve(node.eventSourceArn) as { 'Fn::GetAtt'?: [string, string] };
  const target = stack.resolve(node.functionName) as { Ref?: string };
  const queue = source['Fn::GetAtt'] && findByLogicalId(node, source['Fn::GetAtt'][0]);
  const fn = target.Ref && findByLogicalId(node, target.Ref);
  if (!(queue instanceof sqs.CfnQueue) || !(fn instanceof lambda.CfnFunction)) {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const visibility = stack.resolve(queue.visibilityTimeout) ?? SQS_DEFAULT_VISIBILITY_SECONDS;
  const timeout = stack.resolve(fn.timeout) ?? LAMBDA_DEFAULT_TIMEOUT_SECONDS;
  if (typeof visibility !== 'number' || typeof timeout !== 'number') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  return visibility >= VISIBILITY_TIMEOUT_FACTOR * timeout
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
};
