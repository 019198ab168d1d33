import type { FunctionSpec } from '../model.js';

/**
 * A function's FunctionConfiguration as Lambda's GetFunction and ListFunctions return it
 * (https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html), for
 * the fields the template determines. Architecture, code size and layers are not kept
 * by the local model and are reported as Lambda's defaults or omitted.
 */
export function functionConfiguration(fn: FunctionSpec) {
  const accountId = fn.arn.split(':')[4];
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: fn.runtime,
    Role: `arn:aws:iam::${accountId}:role/local`,
    Handler: fn.handler,
    Timeout: fn.timeoutSeconds,
    MemorySize: fn.memoryMb,
    Version: '$LATEST',
    Environment: { Variables: fn.environment },
    PackageType: 'Zip',
    State: fn.notRunnable ? 'Failed' : 'Active',
    ...(fn.notRunnable ? { StateReason: fn.notRunnable } : {}),
    LastUpdateStatus: 'Successful',
  };
}

/** GetFunction's response: the configuration plus the reserved concurrency when set. */
export function getFunctionResponse(fn: FunctionSpec) {
  return {
    Configuration: functionConfiguration(fn),
    ...(fn.reservedConcurrency !== undefined
      ? { Concurrency: { ReservedConcurrentExecutions: fn.reservedConcurrency } }
      : {}),
  };
}

/** ListFunctions with MaxItems (1–10,000, default 50) and Marker paging. */
export function listFunctionsResponse(fns: FunctionSpec[], marker?: string, maxItems?: string) {
  const start = marker ? Number(marker) : 0;
  const size = Math.min(Math.max(Number(maxItems ?? 50) || 50, 1), 10_000);
  const page = fns.slice(start, start + size);
  const next = start + size < fns.length ? String(start + size) : undefined;
  return { Functions: page.map(functionConfiguration), ...(next ? { NextMarker: next } : {}) };
}
