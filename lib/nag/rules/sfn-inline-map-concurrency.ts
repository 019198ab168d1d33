import type { CfnResource } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagRuleCompliance } from 'cdk-nag';
import { allStates, parseDefinition } from '../asl.js';

/** Step Functions runs about 40 inline Map iterations at once; beyond that, use a Distributed Map. */
export const MAX_INLINE_MAP_CONCURRENCY = 40;

/**
 * Every inline Map sets a literal MaxConcurrency from 1 to 40. Absent or 0
 * means unbounded, which lets one large input fan out into a burst of
 * invocations; MaxConcurrencyPath cannot be checked at synth, so it fails too.
 * Distributed Maps are N/A (they are built for large fan-outs).
 */
export const SFNInlineMapConcurrency = (node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof sfn.CfnStateMachine)) return NagRuleCompliance.NOT_APPLICABLE;
  const definition = parseDefinition(node);
  if (!definition) return NagRuleCompliance.NOT_APPLICABLE;
  const maps = allStates(definition).filter(
    (s) => s.Type === 'Map' && s.ItemProcessor?.ProcessorConfig?.Mode !== 'DISTRIBUTED'
  );
  if (maps.length === 0) return NagRuleCompliance.NOT_APPLICABLE;
  const bounded = (n: unknown) =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_INLINE_MAP_CONCURRENCY;
  return maps.every((m) => bounded(m.MaxConcurrency))
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
};
