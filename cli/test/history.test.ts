import 'aws-sdk-client-mock-vitest/extend';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { progressFromHistory, readHistory } from '../src/history.js';
import { FakeExecution, HistoryFactory, planOf } from './helpers.js';

const EXECUTION_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:Video:clip-1';

describe('progressFromHistory', () => {
  it('takes the plan from the Plan state’s output', () => {
    // Prepare
    const branches = planOf('thumb-01', 'rendition-720p', 'metadata');
    const events = new HistoryFactory().started().planned(branches).events;

    // Act
    const progress = progressFromHistory(events);

    // Assess
    expect(progress.plan).toEqual([
      { id: 'thumb-01', kind: 'thumbnail', atSec: 2.5, width: 320 },
      { id: 'rendition-720p', kind: 'rendition', height: 720 },
      { id: 'metadata', kind: 'metadata' },
    ]);
    expect(progress.branches.size).toBe(0);
  });

  it('shows a timed-out branch and the fallback that ran in its place as two rows', () => {
    // Prepare
    const [rendition] = planOf('rendition-720p');
    const policy = {
      mode: 'parallel' as const,
      await: 'primary' as const,
      maxInFlight: 10,
      kinds: {
        rendition: { role: 'primary' as const },
        'rendition-fallback': { fallbackFor: 'rendition' },
      },
    };
    const h = new HistoryFactory().started().planned([rendition], undefined, policy);
    h.branchStarted(rendition)
      .after(5000)
      .branchFellBack(rendition, 'rendition-fallback', 'SUCCEEDED');

    // Act
    const progress = progressFromHistory(h.events);

    // Assess
    expect(progress.branches.get('rendition-720p')).toMatchObject({
      status: 'timed-out',
      error: 'States.Timeout',
    });
    expect(progress.branches.get('rendition-720p-fallback')?.status).toBe('succeeded');
  });

  it("follows a segmented rendition through the Wave: pending while deferred, then its join's run and failure", () => {
    // Prepare
    const [thumb, rendition] = planOf('thumb-01', 'rendition-720p');
    const h = new HistoryFactory().started().planned([thumb, rendition]);
    h.branchStarted(thumb).branchDeferred(rendition).after(1000).branchSucceeded(thumb);
    const deferred = progressFromHistory(h.events);
    h.after(4000).joinStarted(rendition);
    const joining = progressFromHistory(h.events);
    h.after(2000).joinFailed(rendition, 'SegmentsMissingError');

    // Act
    const joined = progressFromHistory(h.events);

    // Assess
    expect(deferred.branches.get('thumb-01')?.status).toBe('succeeded');
    expect(deferred.branches.has('rendition-720p')).toBe(false);
    expect(joining.branches.get('rendition-720p')?.status).toBe('running');
    expect(joined.branches.get('rendition-720p')).toMatchObject({
      status: 'failed',
      error: 'SegmentsMissingError',
    });
  });

  it('has no plan before the Plan state exits', () => {
    // Prepare
    const events = new HistoryFactory().started().events;

    // Act
    const progress = progressFromHistory(events);

    // Assess
    expect(progress.plan).toBeUndefined();
  });

  it('marks a branch running from its Run<Kind> entry until it exits', () => {
    // Prepare
    const [thumb, rendition] = planOf('thumb-01', 'rendition-720p');
    const h = new HistoryFactory().started().planned([thumb, rendition]);
    h.branchStarted(thumb, 0).branchStarted(rendition, 1);
    h.after(2500).branchSucceeded(thumb);

    // Act
    const progress = progressFromHistory(h.events);

    // Assess
    expect(progress.branches.get('rendition-720p')?.status).toBe('running');
    const done = progress.branches.get('thumb-01');
    expect(done?.status).toBe('succeeded');
    expect((done?.exitedAt?.getTime() ?? 0) - (done?.enteredAt?.getTime() ?? 0)).toBe(2500);
  });

  it.each([
    ['AWS (no exit of the caught task)', false],
    ['the local interpreter (the caught task exits with $.error)', true],
  ])('takes a failure and its error name from the BranchFailed pass, as %s', (_, taskExits) => {
    // Prepare
    const [thumb] = planOf('thumb-at-999s');
    const h = new HistoryFactory().started().planned([thumb]).branchStarted(thumb);
    h.branchFailed(thumb, 'FrameNotFoundError', taskExits);

    // Act
    const progress = progressFromHistory(h.events);

    // Assess
    expect(progress.branches.get('thumb-at-999s')).toMatchObject({
      status: 'failed',
      error: 'FrameNotFoundError',
    });
  });

  it('fails clearly when a branch task exits with neither a BranchRef nor a caught error', () => {
    // Prepare
    const [meta] = planOf('metadata');
    const h = new HistoryFactory().started().planned([meta]).branchStarted(meta);
    h.branchSucceeded(meta);
    const exit = h.events.at(-1)?.stateExitedEventDetails;
    if (!exit) throw new Error('factory wrote no exit');
    exit.output = JSON.stringify({ id: 'metadata', status: 'DONE' });

    // Act
    const act = () => progressFromHistory(h.events);

    // Assess
    expect(act).toThrow(/the output of RunMetadata does not match the contract: status/);
  });

  it('fails clearly when the Plan output breaks the contract', () => {
    // Prepare
    const events = new HistoryFactory().started().planned([]).events;
    const planExit = events.find((e) => e.stateExitedEventDetails?.name === 'Plan');
    if (!planExit?.stateExitedEventDetails) throw new Error('factory wrote no Plan exit');
    planExit.stateExitedEventDetails.output = JSON.stringify({ plan: { tasks: [] } });

    // Act
    const act = () => progressFromHistory(events);

    // Assess
    expect(act).toThrow(/the output of Plan does not match the contract: plan\.branches/);
  });
});

describe('readHistory', () => {
  const sfnMock = mockClient(SFNClient);
  let execution: FakeExecution;
  beforeEach(() => {
    sfnMock.reset();
    execution = new FakeExecution();
    execution.install(sfnMock);
  });

  it('follows nextToken through every page, with execution data', async () => {
    // Prepare
    execution.status = 'RUNNING';
    execution.pageSize = 3;
    const branches = planOf('thumb-01', 'thumb-02');
    execution.history.started().planned(branches);
    for (const b of branches) execution.history.branchStarted(b);
    const total = execution.history.events.length;

    // Act
    const events = await readHistory(new SFNClient({ region: 'eu-west-1' }), EXECUTION_ARN);

    // Assess
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, Math.ceil(total / 3));
    expect(sfnMock).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: EXECUTION_ARN,
      includeExecutionData: true,
    });
  });

  it('returns no events while the execution does not exist', async () => {
    // Prepare
    execution.status = 'NOT_FOUND';

    // Act
    const events = await readHistory(new SFNClient({ region: 'eu-west-1' }), EXECUTION_ARN);

    // Assess
    expect(events).toEqual([]);
  });
});
