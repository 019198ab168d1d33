import type { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, type NagPackProps, type NagRuleResult } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { SFNDistributedMapBounds } from './rules/sfn-distributed-map-bounds.js';
import { SFNInlineMapConcurrency } from './rules/sfn-inline-map-concurrency.js';
import { SFNLambdaTaskTimeout } from './rules/sfn-lambda-task-timeout.js';
import { SQSRedriveMaxReceiveCount } from './rules/sqs-max-receive-count.js';
import { SQSVisibilityTimeout } from './rules/sqs-visibility-timeout.js';

interface FanOutRule {
  readonly id: string;
  readonly rule: (node: CfnResource) => NagRuleResult;
  readonly info: string;
  readonly explanation: string;
}

/** The rules, by id (`FanOut-<id>` in reports and acknowledgements). */
export const FAN_OUT_RULES: readonly FanOutRule[] = [
  {
    id: 'SQSVisibilityTimeout',
    rule: SQSVisibilityTimeout,
    info: "The SQS queue's visibility timeout is less than 6 × its Lambda consumer's timeout.",
    explanation:
      'AWS recommends a visibility timeout of at least 6 × the function timeout for an SQS event ' +
      'source, so a message stays hidden while an invocation, its retries and batching run.',
  },
  {
    id: 'SQSRedriveMaxReceiveCount',
    rule: SQSRedriveMaxReceiveCount,
    info: "The SQS queue's redrive policy has a maxReceiveCount below 5.",
    explanation:
      'Throttled or timed-out receives count too; a low maxReceiveCount moves healthy messages to the DLQ.',
  },
  {
    id: 'SFNLambdaTaskTimeout',
    rule: SFNLambdaTaskTimeout,
    info: 'A Step Functions Lambda task has no explicit TimeoutSeconds.',
    explanation:
      'Without a task timeout a lost invocation holds the execution until its own timeout, and ' +
      'interpreters with a different default behave differently from AWS.',
  },
  {
    id: 'SFNInlineMapConcurrency',
    rule: SFNInlineMapConcurrency,
    info: 'An inline Map state has no MaxConcurrency from 1 to 40 (absent or 0 is unbounded).',
    explanation:
      'An unbounded inline Map turns one large input into a burst of invocations; inline Maps run ' +
      'about 40 iterations at once anyway, so use a Distributed Map for more.',
  },
  {
    id: 'SFNDistributedMapBounds',
    rule: SFNDistributedMapBounds,
    info: 'A Distributed Map has no MaxConcurrency from 1 to 10,000, or no ResultWriter.',
    explanation:
      'An unbounded Map Run starts up to 10,000 children at once; without ResultWriter every ' +
      "child's output returns into the state, whose 256 KiB limit a Distributed Map is there to avoid.",
  },
];

/**
 * This project's synth-time invariants for fan-out/fan-in stacks, as a cdk-nag
 * pack next to AwsSolutionsChecks and ServerlessChecks:
 * `Validations.of(app).addPlugins(new FanOutChecks(app))`.
 */
export class FanOutChecks extends NagPack {
  public readonly name = 'FanOut';

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = 'FanOut';
  }

  protected checkResource(node: CfnResource): void {
    for (const { id, rule, info, explanation } of FAN_OUT_RULES) {
      this.applyRule({
        ruleSuffixOverride: id,
        info,
        explanation,
        level: NagMessageLevel.ERROR,
        rule,
        node,
      });
    }
  }
}
