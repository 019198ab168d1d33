import type { Context } from 'aws-lambda';
import { requireEnv } from '../shared/env.js';
import { correlate, logger, metrics } from '../shared/powertools.js';
import { BranchInputSchema, type BranchRef } from '../shared/schemas.js';
import { parseEvent } from '../shared/validate.js';
import { processBranch } from './logic.js';

/**
 * Time kept back from ffmpeg for uploading artifacts and writing the branch
 * record; without it a long rendition would hit the Lambda timeout and leave
 * no record at all (the aggregator then only knows "States.Timeout").
 */
const RESERVE_MS = 15_000;

/**
 * Map iteration task. Input: BranchInput `{videoId, source, task}`.
 * Output: BranchRef `{taskId, status: 'SUCCEEDED'}`; failures are thrown as
 * named errors (the Map's Catch turns them into FAILED refs).
 * Env: OUTPUT_BUCKET.
 */
export const handler = async (event: unknown, context: Context): Promise<BranchRef> => {
  logger.addContext(context);
  const input = parseEvent(BranchInputSchema, event, 'branch input');
  correlate(input.videoId);
  try {
    return await processBranch(input, {
      outputBucket: requireEnv('OUTPUT_BUCKET'),
      timeBudget: () => context.getRemainingTimeInMillis() - RESERVE_MS,
    });
  } finally {
    metrics.publishStoredMetrics();
  }
};
