import type * as z from 'zod/mini';
import { InvalidEventError } from '../../contract/errors.js';

/**
 * Parses a state input at the edge. The message names the first few failing
 * paths, short enough to read in a Step Functions Cause.
 */
export const parseEvent = <S extends z.ZodMiniType>(
  schema: S,
  event: unknown,
  what: string
): z.infer<S> => {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  throw new InvalidEventError(`Invalid ${what}: ${issues}`);
};
