import { BranchInputSchema } from '../../contract/index.js';
import { requireEnv } from '../shared/env.js';
import { defineStateTask } from '../shared/state-task.js';
import { runBranch } from './logic.js';

/**
 * Time kept back from the kind for uploading artifacts and writing the branch
 * record; without it a long rendition would hit the Lambda timeout and leave
 * no record at all (the aggregator then only knows "States.Timeout").
 */
const RESERVE_MS = 15_000;

/**
 * Map iteration task, deployed once per branch kind (each function sized for
 * its kind; see lambdas/branch-kinds). Input: BranchInput
 * `{videoId, source, probe, branch}`. Output: BranchRef `{id, status}`;
 * failures are thrown as named errors (the Map's Catch turns them into
 * FAILED refs). Env: OUTPUT_BUCKET; PLAYABLE_TOPIC_ARN on the kinds that announce VideoPlayable;
 * EARLY_JOIN=on (and JOIN_TIMEOUT_SEC, the rendition timeout) on the segment function.
 */
export const handler = defineStateTask(BranchInputSchema, 'branch input', (input, context) =>
  runBranch(input, {
    outputBucket: requireEnv('OUTPUT_BUCKET'),
    playableTopicArn: process.env.PLAYABLE_TOPIC_ARN || undefined,
    // The segment function in parallel mode: join a rendition as soon as its segments exist.
    ...(process.env.EARLY_JOIN === 'on' && {
      earlyJoin: {
        timeoutMs: process.env.JOIN_TIMEOUT_SEC
          ? Number(process.env.JOIN_TIMEOUT_SEC) * 1000
          : undefined,
      },
    }),
    timeBudget: () => context.getRemainingTimeInMillis() - RESERVE_MS,
  })
);
