import type { Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { correlate, flushMetrics, logger } from './powertools.js';
import { parseEvent } from './validate.js';

/**
 * The one wrapper for Step Functions task handlers: Lambda context on every
 * log line, the input parsed at the edge (an InvalidEventError names the bad
 * fields), every line and trace tagged with the videoId and tenant, and the metrics
 * flushed however the task ends (skipped when it stored none).
 */
export const defineStateTask =
  <S extends z.ZodMiniType<{ videoId: string; tenant: string }>, O>(
    schema: S,
    what: string,
    run: (input: z.infer<S>, context: Context) => Promise<O>
  ) =>
  async (event: unknown, context: Context): Promise<O> => {
    logger.addContext(context);
    const input = parseEvent(schema, event, what);
    correlate(input.videoId, input.tenant);
    try {
      return await run(input, context);
    } finally {
      flushMetrics();
    }
  };
