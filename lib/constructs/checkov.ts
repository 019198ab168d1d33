import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One checkov check skipped on one resource, with the reason checkov prints. */
export interface CheckovSkip {
  readonly id: string;
  readonly comment: string;
}

/**
 * Adds `Metadata.checkov.skip` entries to the resource (or an L2's primary
 * L1), where checkov reads them. A construct that is not backed by a resource
 * of this stack (an imported function or queue) has nothing to scan, so
 * nothing is added.
 */
export const skipCheckov = (scope: IConstruct, skips: readonly CheckovSkip[]): void => {
  const cfn = scope instanceof CfnResource ? scope : scope.node.defaultChild;
  if (!(cfn instanceof CfnResource)) return;
  const current = (cfn.getMetadata('checkov') as { skip?: CheckovSkip[] } | undefined)?.skip ?? [];
  const added = skips.filter((s) => !current.some((c) => c.id === s.id));
  cfn.addMetadata('checkov', { skip: [...current, ...added] });
};

/** The reasons shared by more than one construct, worded once. */
export const CHECKOV_SKIPS = {
  sqsManagedEncryption: {
    id: 'CKV_AWS_27',
    comment:
      'Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); checkov only recognises a KMS key.',
  },
  logGroupKms: {
    id: 'CKV_AWS_158',
    comment:
      'CloudWatch Logs encrypts log data at rest by default; the logs hold no secrets that need a CMK.',
  },
  synchronousInvokeDlq: {
    id: 'CKV_AWS_116',
    comment:
      'Invoked synchronously (Step Functions or an SQS event source); a function DLQ only catches async invokes.',
  },
} as const satisfies Record<string, CheckovSkip>;
