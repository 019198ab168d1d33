/** A failure whose message already says what to do; printed without a stack trace. */
export class DeployError extends Error {
  override name = 'DeployError';
}
