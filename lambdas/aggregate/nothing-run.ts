import {
  MANIFEST_SCHEMA_VERSION,
  type Manifest,
  ManifestSchema,
  type WorkflowInput,
} from '../../contract/index.js';
import { estimateCost } from './cost.js';

/**
 * Pure: the FAILED manifest of a video no branch ran for: an upload rejected
 * before it started, or an execution that ended without a verdict. No probe,
 * no policy, no branches, and no usage to price, so the estimate is 0.
 * `redrive`, `ending` and `execution` are null unless the writer knows them.
 */
export const nothingRunManifest = (
  input: WorkflowInput,
  reason: string,
  now: Date,
  known: Partial<Pick<Manifest, 'redrive' | 'ending' | 'execution'>> = {}
): Manifest => {
  const cost = estimateCost(
    { invocations: [], stateTransitions: 0, sqsRequests: 0, snsPublishes: 0, s3Puts: 0, s3Gets: 0 },
    undefined
  );
  return ManifestSchema.parse({
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    videoId: input.videoId,
    tenant: input.tenant,
    source: input.source,
    status: 'FAILED',
    reason,
    probe: null,
    policy: null,
    branches: [],
    counts: { total: 0, succeeded: 0, failed: 0 },
    fanOut: { sent: 0, succeeded: 0, failed: 0, timedOut: 0, fellBack: 0, skipped: 0 },
    estimatedCostUsd: cost.estimatedCostUsd,
    costBreakdown: cost.costBreakdown,
    hls: null,
    createdAt: now.toISOString(),
    redrive: known.redrive ?? null,
    ending: known.ending ?? null,
    execution: known.execution ?? null,
  } satisfies Manifest);
};
