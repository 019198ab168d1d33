/**
 * Cases a target does not yet run as AWS documents, each with the exact reason. A gap
 * is printed when its case runs, so it is never silent; fix the target and remove it.
 */
export const KNOWN_GAPS: { local: Record<string, string>; localstack: Record<string, string> } = {
  local: {
    'parameters-key-named-like-object-member':
      "aws-local-stepfunctions 3.0.0's definition check treats a Parameters key named like an Object.prototype member ('toString.$') as a duplicate (DUPLICATE_FIELD_NAME), so CreateStateMachine refuses a definition AWS accepts",
  },
  localstack: {},
};
