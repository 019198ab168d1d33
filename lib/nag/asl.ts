import { type CfnResource, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** One ASL state, as much of it as the rules read. */
export interface AslState {
  readonly Type?: string;
  readonly Resource?: string;
  readonly TimeoutSeconds?: number;
  readonly TimeoutSecondsPath?: string;
  readonly MaxConcurrency?: number;
  readonly MaxConcurrencyPath?: string;
  readonly ResultWriter?: { Resource?: string };
  readonly ItemProcessor?: AslStates & { ProcessorConfig?: { Mode?: string } };
  readonly Iterator?: AslStates;
  readonly Branches?: AslStates[];
}
export interface AslStates {
  readonly States?: Record<string, AslState>;
}

/** Marks a function ARN the definition takes from Fn::GetAtt, so rules can tell Lambda tasks apart. */
export const LAMBDA_ARN_MARKER = 'arn:aws:lambda:::function:';

/**
 * The state machine's definition as plain ASL, or undefined when it is not in
 * the template (DefinitionS3Location). Intrinsics inside DefinitionString
 * (ARNs, partitions) become placeholder strings: they always sit inside JSON
 * strings, so the text stays valid JSON, and rules only look at structure.
 */
export const parseDefinition = (node: sfn.CfnStateMachine): AslStates | undefined => {
  const stack = Stack.of(node);
  const inline = stack.resolve(node.definition);
  if (inline) return inline as AslStates;
  const resolved = stack.resolve(node.definitionString) as unknown;
  if (resolved === undefined) return undefined;
  if (typeof resolved === 'string') return JSON.parse(resolved);
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return undefined;
  const text = join[1]
    .map((part) => (typeof part === 'string' ? part : placeholder(node, part)))
    .join(join[0]);
  return JSON.parse(text);
};

const placeholder = (node: CfnResource, intrinsic: unknown): string => {
  const getAtt = (intrinsic as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt && findByLogicalId(node, getAtt[0]) instanceof lambda.CfnFunction) {
    return `${LAMBDA_ARN_MARKER}${getAtt[0]}`;
  }
  return 'intrinsic';
};

/** Every state, including those inside Map iterators and Parallel branches. */
export const allStates = (machine: AslStates): AslState[] =>
  Object.values(machine.States ?? {}).flatMap((state) => [
    state,
    ...[state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]
      .filter((inner): inner is AslStates => inner !== undefined)
      .flatMap(allStates),
  ]);

/** A Task that invokes Lambda: the optimized integration or a bare function ARN. */
export const isLambdaTask = (state: AslState): boolean =>
  state.Type === 'Task' &&
  typeof state.Resource === 'string' &&
  (/:states:::lambda:invoke(\.|$)/.test(state.Resource) ||
    state.Resource.startsWith(LAMBDA_ARN_MARKER) ||
    /^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(state.Resource));

/** The L1 resource in the same stack with this logical id, if any. */
export const findByLogicalId = (node: CfnResource, logicalId: string): CfnResource | undefined => {
  const stack = Stack.of(node);
  return stack.node
    .findAll()
    .find(
      (c): c is CfnResource =>
        (c as CfnResource).cfnResourceType !== undefined &&
        Stack.of(c) === stack &&
        stack.resolve((c as CfnResource).logicalId) === logicalId
    );
};
