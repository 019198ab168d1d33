import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  RedriveExecutionCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../cli/src/config.js';
import { type DeadLetterQueue, resolveDeadLetterQueue } from '../../cli/src/redrive-dlq.js';
import {
  type ExecutionFacts,
  failedBranchIds,
  planVideoRedrive,
  type RedrivableManifest,
  runRedriveVideo,
} from '../../cli/src/redrive-video.js';
import { costBreakdownFactory, unwrap } from '../../cli/test/helpers.js';
import {
  type Branch,
  type BranchResult,
  type Manifest,
  type ManifestBranch,
  redriveExecutionName,
} from '../../contract/index.js';
import { aggregate } from '../../lambdas/aggregate/logic.js';
import { settledFromManifest } from '../../lambdas/aggregate/verdict.js';
import { planForRedrive } from '../../lambdas/plan/logic.js';
import { failFirstRunIfAsked } from '../../lambdas/run-branch/logic.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { sns } from '../../lambdas/shared/sns.js';
import {
  branchInputFactory,
  branchResultFactory,
  jsonBody,
  probeFactory,
  s3ErrorFactory,
  sourceFactory,
} from '../helpers/factories.js';

const VIDEO_ID = 'clip-0123456789abcdef';
const ARN = 'arn:aws:states:us-east-1:000000000000:execution:Workflow:clip-0123456789abcdef';

const entryFactory = (
  id: string,
  kind: string,
  overrides: Partial<ManifestBranch> = {}
): ManifestBranch => ({
  ...branchResultFactory({ id, kind } as Branch),
  role: 'secondary',
  fallbackFor: null,
  ...overrides,
});
const failedEntry = (id: string, kind: string, overrides: Partial<ManifestBranch> = {}) =>
  entryFactory(id, kind, {
    status: 'FAILED',
    artifacts: [],
    error: { name: 'InjectedFailure', message: 'first run fails on request' },
    ...overrides,
  });

const manifestFactory = (
  branches: ManifestBranch[],
  overrides: Partial<RedrivableManifest> = {}
): RedrivableManifest => ({
  videoId: VIDEO_ID,
  source: sourceFactory(),
  status: 'PARTIAL',
  branches,
  redrive: null,
  ...overrides,
});

const execution = (status: string, error?: string): ExecutionFacts => ({
  name: VIDEO_ID,
  arn: ARN,
  status,
  error,
});

describe('resolveDeadLetterQueue', () => {
  const dlqs: DeadLetterQueue[] = [
    {
      logicalName: 'StartWorkflowDeadLetterQueue',
      url: 'http://127.0.0.1:4566/000000000000/VideoPipeline-StarterDlq-AB12',
      arn: 'arn:aws:sqs:us-east-1:000000000000:VideoPipeline-StarterDlq-AB12',
      sourceArns: ['arn:aws:sqs:us-east-1:000000000000:VideoPipeline-Starter-CD34'],
    },
    {
      logicalName: 'UploadAuditDeadLetterQueue',
      url: 'http://127.0.0.1:4566/000000000000/VideoPipeline-AuditDlq-EF56',
      arn: 'arn:aws:sqs:us-east-1:000000000000:VideoPipeline-AuditDlq-EF56',
      sourceArns: ['arn:aws:sqs:us-east-1:000000000000:VideoPipeline-Audit-GH78'],
    },
  ];

  it.each([
    ['the logical name', 'StartWorkflowDeadLetterQueue'],
    ['the logical name in any case', 'startworkflowdeadletterqueue'],
    ["the source's name", 'StartWorkflow'],
    ['the queue name', 'VideoPipeline-StarterDlq-AB12'],
    ['the URL', 'http://127.0.0.1:4566/000000000000/VideoPipeline-StarterDlq-AB12'],
    ['the ARN', 'arn:aws:sqs:us-east-1:000000000000:VideoPipeline-StarterDlq-AB12'],
  ])('finds a DLQ by %s', (_what, wanted) => {
    // Act
    const found = resolveDeadLetterQueue(wanted, dlqs);
    // Assess
    expect(found.logicalName).toBe('StartWorkflowDeadLetterQueue');
  });

  it('refuses an unknown queue with the list of DLQs', () => {
    // Act
    const act = () => resolveDeadLetterQueue('Alerts', dlqs);
    // Assess
    expect(act).toThrow(CliError);
    expect(act).toThrow(
      'unknown dead-letter queue "Alerts". The stack\'s DLQs (logical name, URL):\n' +
        '  StartWorkflowDeadLetterQueue  http://127.0.0.1:4566/000000000000/VideoPipeline-StarterDlq-AB12\n' +
        '  UploadAuditDeadLetterQueue  http://127.0.0.1:4566/000000000000/VideoPipeline-AuditDlq-EF56'
    );
  });
});

describe('failedBranchIds', () => {
  it('lists planned branches whose chain did not deliver, not those saved by a fallback', () => {
    // Prepare
    const manifest = manifestFactory([
      entryFactory('thumb-01', 'thumbnail'),
      failedEntry('thumb-02', 'thumbnail'),
      failedEntry('rendition-720p', 'rendition', { role: 'primary' }),
      entryFactory('rendition-720p-fallback', 'rendition-fallback', {
        role: 'primary',
        fallbackFor: 'rendition-720p',
      }),
      entryFactory('metadata', 'metadata', { status: 'TIMED_OUT', artifacts: [] }),
      failedEntry('audit', 'audit', { role: 'fire-and-forget', status: 'SENT' }),
    ]);
    // Act
    const ids = failedBranchIds(manifest);
    // Assess
    expect(ids).toEqual(['thumb-02', 'metadata']);
  });
});

describe('planVideoRedrive', () => {
  const partial = manifestFactory([
    entryFactory('thumb-01', 'thumbnail'),
    failedEntry('thumb-02', 'thumbnail'),
  ]);

  it('refuses a running video', () => {
    // Act
    const plan = planVideoRedrive(VIDEO_ID, partial, execution('RUNNING'));
    // Assess
    expect(plan).toEqual({
      path: 'refuse',
      message: `video ${VIDEO_ID} is still running (execution ${VIDEO_ID}); wait for its manifest`,
    });
  });

  it('refuses an unknown video', () => {
    // Act
    const plan = planVideoRedrive(VIDEO_ID, undefined, undefined);
    // Assess
    expect(plan).toEqual({
      path: 'refuse',
      message: `unknown video ${VIDEO_ID}: no manifest and no execution of that name`,
    });
  });

  it('refuses a COMPLETE video', () => {
    // Act
    const plan = planVideoRedrive(
      VIDEO_ID,
      manifestFactory([entryFactory('thumb-01', 'thumbnail')], { status: 'COMPLETE' }),
      execution('SUCCEEDED')
    );
    // Assess
    expect(plan).toEqual({
      path: 'refuse',
      message: `video ${VIDEO_ID} is already COMPLETE: nothing to redrive`,
    });
  });

  it('re-runs a PARTIAL video’s failed branches in a new execution named after the attempt', () => {
    // Act
    const plan = planVideoRedrive(VIDEO_ID, partial, execution('SUCCEEDED'));
    // Assess
    expect(plan).toMatchObject({
      path: 'new-execution',
      name: `${VIDEO_ID}-redrive-1`,
      input: {
        videoId: VIDEO_ID,
        source: sourceFactory(),
        redrive: { attempt: 1, branches: ['thumb-02'], previousStatus: 'PARTIAL' },
      },
    });
  });

  it('numbers the next attempt after the previous redrive', () => {
    // Act
    const plan = planVideoRedrive(
      VIDEO_ID,
      { ...partial, redrive: { attempt: 2 } },
      { ...execution('SUCCEEDED'), name: `${VIDEO_ID}-redrive-2` }
    );
    // Assess
    expect(plan).toMatchObject({ path: 'new-execution', name: `${VIDEO_ID}-redrive-3` });
  });

  it('uses a new execution for a FAILED verdict, where RedriveExecution would re-run only the Fail state', () => {
    // Act
    const plan = planVideoRedrive(
      VIDEO_ID,
      { ...partial, status: 'FAILED' },
      execution('FAILED', 'WorkFailed')
    );
    // Assess
    expect(plan).toMatchObject({
      path: 'new-execution',
      input: { redrive: { branches: ['thumb-02'] } },
    });
  });

  it('re-runs every branch of a video that failed before its fan-out', () => {
    // Act
    const plan = planVideoRedrive(
      VIDEO_ID,
      manifestFactory([], { status: 'FAILED' }),
      execution('FAILED', 'WorkFailed')
    );
    // Assess
    expect(plan).toMatchObject({ path: 'new-execution', input: { redrive: { branches: null } } });
  });

  it.each(['TIMED_OUT', 'ABORTED'])(
    "uses RedriveExecution for an execution %s with the verdict keeper's FAILED manifest",
    (status) => {
      // Prepare: the keeper's manifest lists no branches and records the ending
      const keepers = manifestFactory([], { status: 'FAILED' });
      // Act
      const plan = planVideoRedrive(VIDEO_ID, keepers, execution(status, undefined));
      // Assess
      expect(plan).toMatchObject({ path: 'redrive-execution', executionArn: ARN });
    }
  );

  it('re-runs every branch in a new execution when the aggregator failed past its retries', () => {
    // Act
    const plan = planVideoRedrive(
      VIDEO_ID,
      manifestFactory([], { status: 'FAILED' }),
      execution('FAILED', 'AggregateFailed')
    );
    // Assess: RedriveExecution would re-run only the AggregateFailed Fail state
    expect(plan).toMatchObject({
      path: 'new-execution',
      name: `${VIDEO_ID}-redrive-1`,
      input: { redrive: { attempt: 1, branches: null, previousStatus: 'FAILED' } },
    });
  });

  it.each(['FAILED', 'TIMED_OUT', 'ABORTED'])(
    'uses RedriveExecution for an execution %s before the verdict',
    (status) => {
      // Act
      const plan = planVideoRedrive(VIDEO_ID, undefined, execution(status, 'States.Runtime'));
      // Assess
      expect(plan).toMatchObject({ path: 'redrive-execution', executionArn: ARN });
    }
  );
});

describe('planForRedrive', () => {
  const plan = {
    branches: [
      { id: 'thumb-01', kind: 'thumbnail' },
      { id: 'thumb-02', kind: 'thumbnail' },
      { id: 'metadata', kind: 'metadata' },
    ],
  };

  it('keeps only the named branches', () => {
    // Act
    const kept = planForRedrive(plan, {
      attempt: 1,
      branches: ['thumb-02'],
      previousStatus: 'PARTIAL',
    });
    // Assess
    expect(kept).toEqual({ branches: [{ id: 'thumb-02', kind: 'thumbnail' }] });
  });

  it('fails loudly when a named branch is no longer planned', () => {
    // Act
    const act = () =>
      planForRedrive(plan, { attempt: 1, branches: ['thumb-09'], previousStatus: 'PARTIAL' });
    // Assess
    expect(act).toThrow(
      'redrive names branches the plan does not have: thumb-09; planned: thumb-01, thumb-02, metadata'
    );
  });
});

describe('aggregate for a redrive', () => {
  const s3Mock = mockClient(s3);
  const snsMock = mockClient(sns);
  const previous: Manifest = {
    schemaVersion: 7,
    videoId: VIDEO_ID,
    tenant: 'default',
    source: sourceFactory(),
    status: 'PARTIAL',
    reason: '1 of 2 branches failed: thumb-02 (InjectedFailure: first run fails on request)',
    probe: probeFactory(),
    policy: { mode: 'parallel', await: 'all' },
    branches: [entryFactory('thumb-01', 'thumbnail'), failedEntry('thumb-02', 'thumbnail')],
    counts: { total: 2, succeeded: 1, failed: 1 },
    fanOut: { sent: 2, succeeded: 1, failed: 1, timedOut: 0, fellBack: 0, skipped: 0 },
    hls: null,
    estimatedCostUsd: 0.000467,
    costBreakdown: costBreakdownFactory(),
    createdAt: '2026-11-22T10:00:00.000Z',
    redrive: null,
    ending: null,
    execution: null,
  };
  const rerun: BranchResult = branchResultFactory({ id: 'thumb-02', kind: 'thumbnail' } as Branch, {
    finishedAt: '2026-11-22T10:05:00.000Z',
  });

  beforeEach(() => {
    s3Mock.reset();
    snsMock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      if (input.Key === `outputs/${VIDEO_ID}/manifest.json`) return { Body: jsonBody(previous) };
      if (input.Key === `outputs/${VIDEO_ID}/_work/branches/thumb-02.json`)
        return { Body: jsonBody(rerun) };
      throw s3ErrorFactory('NoSuchKey', 404);
    });
  });

  it('keeps the previous entries, replaces the redriven one and notes the redrive', async () => {
    // Act
    const out = await aggregate(
      {
        videoId: VIDEO_ID,
        tenant: 'default',
        source: sourceFactory(),
        probe: probeFactory(),
        plan: { branches: [{ id: 'thumb-02', kind: 'thumbnail' }] },
        results: [{ id: 'thumb-02', status: 'SUCCEEDED' }],
        policy: { mode: 'parallel', await: 'all', kinds: {}, maxInFlight: 10 },
        redrive: { attempt: 1, branches: ['thumb-02'], previousStatus: 'PARTIAL' },
      },
      {
        outputBucket: 'output-bucket',
        topicArn: 'arn:aws:sns:us-east-1:000000000000:processed',
        now: () => new Date('2026-11-22T10:06:00Z'),
      }
    );

    // Assess
    expect(out.status).toBe('COMPLETE');
    const written = JSON.parse(
      String(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.Body)
    ) as Manifest;
    expect(written.branches).toEqual([
      previous.branches[0],
      { ...rerun, role: 'secondary', fallbackFor: null },
    ]);
    expect(written.counts).toEqual({ total: 2, succeeded: 2, failed: 0 });
    expect(written.redrive).toEqual({
      attempt: 1,
      branches: ['thumb-02'],
      previousStatus: 'PARTIAL',
      executionName: redriveExecutionName(VIDEO_ID, 1),
    });
  });

  it('reads fallback entries back into their origin’s chain', () => {
    // Act
    const chains = settledFromManifest([
      failedEntry('rendition-720p', 'rendition', { role: 'primary' }),
      entryFactory('rendition-720p-fallback', 'rendition-fallback', {
        role: 'primary',
        fallbackFor: 'rendition-720p',
      }),
      failedEntry('thumb-02', 'thumbnail'),
    ]);
    // Assess
    expect(chains.map((c) => [c.branch.id, c.results.length, c.succeeded])).toEqual([
      ['rendition-720p', 2, true],
      ['thumb-02', 1, false],
    ]);
  });
});

describe('runRedriveVideo where the target has no RedriveExecution', () => {
  const s3Client = new S3Client({ region: 'us-east-1' });
  const sfnClient = new SFNClient({ region: 'us-east-1' });
  const s3Mock = mockClient(s3Client);
  const sfnMock = mockClient(sfnClient);
  const SM = 'arn:aws:states:us-east-1:000000000000:stateMachine:Workflow';

  beforeEach(() => {
    s3Mock.reset();
    sfnMock.reset();
    s3Mock.on(GetObjectCommand).rejects(s3ErrorFactory('NoSuchKey', 404));
    sfnMock.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
      if (input.executionArn !== ARN) {
        throw new SFNServiceException({
          name: 'ExecutionDoesNotExist',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'Execution Does Not Exist',
        });
      }
      return {
        name: VIDEO_ID,
        status: 'ABORTED',
        input: JSON.stringify({ videoId: VIDEO_ID, source: sourceFactory() }),
      };
    });
    // LocalStack 4.14.0's exact answer.
    sfnMock.on(RedriveExecutionCommand).rejects(
      new SFNServiceException({
        name: 'InternalFailure',
        $fault: 'server',
        $metadata: { httpStatusCode: 501 },
        message:
          'The API for service stepfunctions is either not included in your current license plan or has not yet been emulated by LocalStack.',
      })
    );
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}-redrive-1` });
  });

  it('starts a new execution of every branch and says the target lacks the API', async () => {
    // Prepare
    const lines: string[] = [];
    // Act
    const result = await runRedriveVideo(
      { s3: s3Client, sfn: sfnClient },
      { outputBucket: 'output-bucket', stateMachineArn: SM, targetName: 'LocalStack' },
      VIDEO_ID,
      { write: (l: string) => lines.push(l) }
    );
    // Assess
    expect(result).toEqual({ path: 'new-execution-fallback', executionArn: `${ARN}-redrive-1` });
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: SM,
      name: `${VIDEO_ID}-redrive-1`,
      input: JSON.stringify({
        videoId: VIDEO_ID,
        // The original input has no tenant (started before tenants); a default-tenant videoId.
        tenant: 'default',
        source: sourceFactory(),
        redrive: { attempt: 1, branches: null, previousStatus: 'ABORTED' },
      }),
    });
    // The CLI wraps the message at 80 columns (not a TTY).
    expect(unwrap(lines.join(''))).toContain(
      `path: new execution ${VIDEO_ID}-redrive-1 running every branch: LocalStack has no RedriveExecution (InternalFailure)`
    );
  });
});

describe('the test-fail-once hook', () => {
  const s3Mock = mockClient(s3);
  const thumb: Branch = { id: 'thumb-02', kind: 'thumbnail', atSec: 1, width: 320 };
  const asked = branchInputFactory(thumb, { probe: probeFactory({ failOnce: ['thumb-02'] }) });
  beforeEach(() => s3Mock.reset());

  it('fails a listed branch on its first run (no record yet) with InjectedFailure', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(s3ErrorFactory('NoSuchKey', 404));
    // Act
    const act = failFirstRunIfAsked(asked, 'output-bucket');
    // Assess
    await expect(act).rejects.toMatchObject({
      name: 'InjectedFailure',
      message: 'test-fail-once hook: first run of thumb-02 fails on request',
    });
  });

  it('runs a listed branch that already has a record (a redrive)', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).resolves({ Body: jsonBody(failedEntry('thumb-02', 'thumbnail')) });
    // Act
    const act = failFirstRunIfAsked(asked, 'output-bucket');
    // Assess
    await expect(act).resolves.toBeUndefined();
  });

  it('leaves branches that are not listed alone, without reading anything', async () => {
    // Act
    await failFirstRunIfAsked(branchInputFactory(thumb), 'output-bucket');
    // Assess
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });
});
