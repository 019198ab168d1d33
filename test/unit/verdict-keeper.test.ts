import '../helpers/env.js';
import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_FAILED_ERROR,
  EXECUTION_STATUS_CHANGE,
  ManifestSchema,
  type VideoProcessedEvent,
  type WorkflowInput,
} from '../../contract/index.js';
import {
  endingOf,
  isOwnVerdict,
  keepVerdict,
  type VerdictIo,
  verdictManifest,
  verdictReason,
} from '../../lambdas/verdict-keeper/logic.js';
import { sourceFactory } from '../helpers/factories.js';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:Workflow';
const VIDEO_ID = 'acme--clip-0123456789abcdef';
const EXECUTION = `arn:aws:states:us-east-1:123456789012:execution:Workflow:${VIDEO_ID}`;
const BUCKET = 'output-bucket';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:video-processed';
const STOP_MS = Date.parse('2026-12-07T03:00:00.000Z');
const NOW = new Date('2026-12-07T03:00:01.000Z');
const KEY = `outputs/${VIDEO_ID}/manifest.json`;

const input: WorkflowInput = {
  videoId: VIDEO_ID,
  tenant: 'acme',
  source: sourceFactory({ key: 'uploads/acme/clip.mp4' }),
};

const eventFactory = (detail: Record<string, unknown> = {}) => ({
  version: '0',
  id: 'e-1',
  'detail-type': EXECUTION_STATUS_CHANGE,
  source: 'aws.states',
  account: '123456789012',
  time: '2026-12-07T03:00:00Z',
  region: 'us-east-1',
  resources: [EXECUTION],
  detail: {
    executionArn: EXECUTION,
    stateMachineArn: MACHINE,
    name: VIDEO_ID,
    status: 'ABORTED',
    startDate: STOP_MS - 60_000,
    stopDate: STOP_MS,
    input: JSON.stringify(input),
    inputDetails: { included: true },
    output: null,
    outputDetails: null,
    error: null,
    cause: null,
    ...detail,
  },
});

/** An in-memory bucket with S3's If-None-Match semantics, a recording topic and one execution. */
const fakeIo = (opts: { existing?: unknown; status?: string; failPublish?: boolean } = {}) => {
  const objects = new Map<string, unknown>();
  if (opts.existing !== undefined) objects.set(`${BUCKET}/${KEY}`, opts.existing);
  const published: Array<{ event: VideoProcessedEvent; attributes: Record<string, string> }> = [];
  let failPublish = opts.failPublish ?? false;
  const io: VerdictIo = {
    describeExecution: async () => ({
      status: opts.status ?? 'ABORTED',
      input: JSON.stringify(input),
    }),
    putIfAbsent: async (bucket, key, body) => {
      if (objects.has(`${bucket}/${key}`)) return 'exists';
      objects.set(`${bucket}/${key}`, JSON.parse(JSON.stringify(body)));
      return 'written';
    },
    getJson: async (bucket, key) => objects.get(`${bucket}/${key}`),
    publish: async (_topic, event, attributes) => {
      if (failPublish) {
        failPublish = false;
        throw new Error('SNS unavailable');
      }
      published.push({ event, attributes });
    },
  };
  return { io, objects, published };
};

const options = { outputBucket: BUCKET, topicArn: TOPIC, stateMachineArn: MACHINE, now: () => NOW };

describe('verdict keeper: pure decisions', () => {
  it('treats only FAILED, TIMED_OUT and ABORTED as endings', () => {
    expect(['FAILED', 'TIMED_OUT', 'ABORTED'].map(endingOf)).toEqual([
      'FAILED',
      'TIMED_OUT',
      'ABORTED',
    ]);
    expect(['RUNNING', 'SUCCEEDED', 'PENDING_REDRIVE'].map(endingOf)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("reads the aggregator's caught error out of the AggregateFailed cause", () => {
    const cause = JSON.stringify({
      Error: 'Runtime.InitTimeout',
      Cause: JSON.stringify({ errorType: 'Runtime.InitTimeout', errorMessage: 'init took 10 s' }),
    });
    expect(verdictReason('FAILED', AGGREGATE_FAILED_ERROR, cause)).toBe(
      'the aggregator failed past its retries: Runtime.InitTimeout: init took 10 s'
    );
  });

  it('names the ending in the reason of a stop, a timeout and an uncaught error', () => {
    expect(verdictReason('ABORTED', null, null)).toBe(
      "execution stopped (StopExecution) before the aggregator's verdict"
    );
    expect(verdictReason('ABORTED', 'Operator', 'bad upload')).toBe(
      "execution stopped (StopExecution) before the aggregator's verdict: Operator: bad upload"
    );
    expect(verdictReason('ABORTED', null, 'wrong upload')).toBe(
      "execution stopped (StopExecution) before the aggregator's verdict: wrong upload"
    );
    expect(verdictReason('TIMED_OUT', 'States.Timeout', null)).toMatch(/TimeoutSeconds/);
    expect(verdictReason('FAILED', 'States.Runtime', 'path $.x not found')).toBe(
      "execution failed before the aggregator's verdict: States.Runtime: path $.x not found"
    );
  });

  it('builds a schema-valid FAILED manifest that records the ending and the execution', () => {
    const m = verdictManifest(
      input,
      { executionArn: EXECUTION, stopDate: STOP_MS, error: 'States.Timeout', cause: null },
      'TIMED_OUT',
      NOW
    );
    expect(ManifestSchema.safeParse(m).success).toBe(true);
    expect(m).toMatchObject({
      videoId: VIDEO_ID,
      tenant: 'acme',
      status: 'FAILED',
      ending: 'TIMED_OUT',
      execution: { arn: EXECUTION, stopDate: '2026-12-07T03:00:00.000Z', error: 'States.Timeout' },
      branches: [],
      createdAt: NOW.toISOString(),
      redrive: null,
    });
  });

  it('recognises only its own verdict on the same ending of the same execution', () => {
    const own = verdictManifest(
      input,
      { executionArn: EXECUTION, stopDate: STOP_MS, error: null, cause: null },
      'ABORTED',
      NOW
    );
    const detail = { executionArn: EXECUTION, stopDate: STOP_MS };
    expect(isOwnVerdict(own, detail, 'ABORTED')).toBe(true);
    expect(isOwnVerdict(own, { ...detail, stopDate: STOP_MS + 1 }, 'ABORTED')).toBe(false);
    expect(isOwnVerdict(own, detail, 'FAILED')).toBe(false);
    expect(
      isOwnVerdict({ status: 'FAILED', ending: null, execution: null }, detail, 'ABORTED')
    ).toBe(false);
  });
});

describe('verdict keeper: keepVerdict', () => {
  it('writes a FAILED manifest and publishes VideoProcessed FAILED with the status attribute', async () => {
    // Prepare
    const { io, objects, published } = fakeIo();

    // Act
    const result = await keepVerdict(eventFactory(), options, io);

    // Assess
    // The tenant is returned for the handler's per-tenant VideosFailed
    expect(result).toMatchObject({
      outcome: 'written',
      videoId: VIDEO_ID,
      tenant: 'acme',
      ending: 'ABORTED',
    });
    expect(objects.get(`${BUCKET}/${KEY}`)).toMatchObject({ status: 'FAILED', ending: 'ABORTED' });
    expect(published).toEqual([
      {
        event: {
          videoId: VIDEO_ID,
          status: 'FAILED',
          reason: "execution stopped (StopExecution) before the aggregator's verdict",
          source: input.source,
          manifest: { bucket: BUCKET, key: KEY },
        },
        attributes: { status: 'FAILED', type: 'VideoProcessed' },
      },
    ]);
  });

  it("never replaces the aggregator's manifest, nor announces it again", async () => {
    // Prepare: the aggregator's FAILED verdict, then the Fail state ended the execution FAILED
    const aggregators = { status: 'FAILED', reason: 'no rendition', ending: null, execution: null };
    const { io, objects, published } = fakeIo({ existing: aggregators, status: 'FAILED' });

    // Act
    const result = await keepVerdict(
      eventFactory({ status: 'FAILED', error: 'WorkFailed', cause: 'no rendition' }),
      options,
      io
    );

    // Assess
    expect(result).toEqual({ outcome: 'kept', videoId: VIDEO_ID, status: 'FAILED' });
    expect(objects.get(`${BUCKET}/${KEY}`)).toBe(aggregators);
    expect(published).toEqual([]);
  });

  it('is idempotent: a second delivery of the same event writes and publishes nothing more', async () => {
    const { io, published } = fakeIo();
    await keepVerdict(eventFactory(), options, io);

    const again = await keepVerdict(eventFactory(), options, io);

    // Its own verdict on the same ending: published again (at least once), never rewritten.
    expect(again.outcome).toBe('republished');
    expect(published).toHaveLength(2);
    expect(published[1]!.event).toEqual(published[0]!.event);
  });

  it('publishes on the retry after a publish failed behind its written manifest', async () => {
    const { io, published } = fakeIo({ failPublish: true });
    await expect(keepVerdict(eventFactory(), options, io)).rejects.toThrow('SNS unavailable');

    const retry = await keepVerdict(eventFactory(), options, io);

    expect(retry.outcome).toBe('republished');
    expect(published.map((p) => p.attributes.status)).toEqual(['FAILED']);
  });

  it('leaves a redriven execution (RUNNING again) to its next ending', async () => {
    const { io, objects, published } = fakeIo({ status: 'RUNNING' });

    const result = await keepVerdict(eventFactory(), options, io);

    expect(result.outcome).toBe('superseded');
    expect(objects.size).toBe(0);
    expect(published).toEqual([]);
  });

  it("ignores other state machines' executions and non-endings", async () => {
    const { io, objects } = fakeIo();

    const other = await keepVerdict(
      eventFactory({ stateMachineArn: `${MACHINE}Other` }),
      options,
      io
    );
    const succeeded = await keepVerdict(eventFactory({ status: 'SUCCEEDED' }), options, io);

    expect([other.outcome, succeeded.outcome]).toEqual(['ignored', 'ignored']);
    expect(objects.size).toBe(0);
  });

  it("reads LocalStack's ISO dates like AWS's epoch milliseconds", async () => {
    const { io, objects } = fakeIo();

    await keepVerdict(
      eventFactory({ startDate: '2026-12-07T02:59:00.000Z', stopDate: '2026-12-07T03:00:00.000Z' }),
      options,
      io
    );

    expect(objects.get(`${BUCKET}/${KEY}`)).toMatchObject({
      execution: { stopDate: new Date(STOP_MS).toISOString() },
    });
  });

  it('refuses an event that is not a status change, by name', async () => {
    const { io } = fakeIo();
    await expect(keepVerdict({ source: 'aws.s3', detail: {} }, options, io)).rejects.toMatchObject({
      name: 'InvalidEventError',
    });
  });
});
