/**
 * Cases a target does not yet run as AWS documents, each with the exact reason. A gap
 * is printed when its case runs, so it is never silent; fix the target and remove it.
 */
export const KNOWN_GAPS: { local: Record<string, string>; localstack: Record<string, string> } = {
  local: {},
  localstack: {},
};
