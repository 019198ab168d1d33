import type { CfnResource } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagRuleCompliance } from 'cdk-nag';
import { allStates, parseDefinition } from '../asl.js';

/** A Map Run runs at most 10,000 child executions at once. */
export const MAX_DISTRIBUTED_MAP_CONCURRENCY = 10_000;

/**
 * Every Distributed Map sets a literal MaxConcurrency from 1 to 10,000 (absent or
 * 0 means 10,000 at once: a burst the workers' concurrency and quotas rarely take)
 * and writes its results with ResultWriter: without one, every child's output
 * comes back into the state, which is what a Distributed Map is there to avoid
 * (256 KiB). MaxConcurrencyPath cannot be checked at synth, so it fails too.
 */
export const SFNDistributedMapBounds = (node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof sfn.CfnStateMachine)) return NagRuleCompliance.NOT_APPLICABLE;
  const definition = parseDefinition(node);
  if (!definition) return NagRuleCompliance.NOT_APPLICABLE;
  const maps = allStates(definition).filter(
    (s) => s.Type === 'Map' && s.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED'
  );
  if (maps.length === 0) return NagRuleCompliance.NOT_APPLICABLE;
  const bounded = (n: unknown) =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_DISTRIBUTED_MAP_CONCURRENCY;
  return maps.every((m) => bounded(m.MaxConcurrency) && m.ResultWriter?.Resource !== undefined)
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
};
