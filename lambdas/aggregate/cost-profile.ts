import { COST_PROFILE_ENV, type CostProfile, CostProfileSchema } from '../../contract/index.js';
import { logger } from '../shared/powertools.js';

/**
 * The stack's COST_PROFILE, or undefined when it is absent or malformed. A bad
 * profile must not cost a video its manifest: the manifest then reports the
 * compute as unpriced (memory null) and the warning says why.
 */
export const costProfileFromEnv = (
  raw: string | undefined = process.env[COST_PROFILE_ENV]
): CostProfile | undefined => {
  if (raw === undefined) {
    logger.warn(`${COST_PROFILE_ENV} is not set: Lambda compute will not be priced`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    logger.error(`${COST_PROFILE_ENV} is not JSON: Lambda compute will not be priced`);
    return undefined;
  }
  const parsed = CostProfileSchema.safeParse(json);
  if (!parsed.success) {
    logger.error(`${COST_PROFILE_ENV} is malformed: Lambda compute will not be priced`, {
      issues: parsed.error.issues,
    });
    return undefined;
  }
  return parsed.data;
};
