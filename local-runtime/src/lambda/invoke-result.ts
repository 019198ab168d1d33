/**
 * What one Lambda invocation returned, in its own module so that modules reading
 * results (Step Functions integrations) need not import the runner.
 */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** Mirrors Lambda's Invoke response: a function error is a value, not an exception. */
export type InvokeResult =
  | { ok: true; payload: unknown; requestId: string; durationMs: number }
  | { ok: false; error: LambdaErrorPayload; requestId: string; durationMs: number };
