import type { CfnResource } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagRuleCompliance } from 'cdk-nag';
import { allStates, isLambdaTask, parseDefinition } from '../asl.js';

/**
 * Every Lambda Task state, including those inside Map and Parallel states,
 * sets TimeoutSeconds (or TimeoutSecondsPath). Without it Step Functions waits
 * up to the execution timeout for a lost invocation, and interpreters with
 * their own default (aws-local-stepfunctions: 60 s) behave differently from AWS.
 */
export const SFNLambdaTaskTimeout = (node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof sfn.CfnStateMachine)) return NagRuleCompliance.NOT_APPLICABLE;
  const definition = parseDefinition(node);
  if (!definition) return NagRuleCompliance.NOT_APPLICABLE;
  const tasks = allStates(definition).filter(isLambdaTask);
  if (tasks.length === 0) return NagRuleCompliance.NOT_APPLICABLE;
  return tasks.every((t) => t.TimeoutSeconds !== undefined || t.TimeoutSecondsPath !== undefined)
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
};
