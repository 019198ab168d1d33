import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { graphFromDefinition, stateRunsFromHistory } from '../src/graph.js';

describe('graphFromDefinition', () => {
  it('lays states out by their longest path from StartAt, with Catch and Choice targets and Map children', () => {
    // Prepare
    const definition = JSON.stringify({
      StartAt: 'Probe',
      States: {
        Probe: { Type: 'Task', Next: 'Route', Catch: [{ Next: 'Aggregate' }] },
        Route: { Type: 'Choice', Choices: [{ Next: 'FanOut' }], Default: 'Aggregate' },
        FanOut: {
          Type: 'Map',
          ItemProcessor: { StartAt: 'Run', States: { Run: { Type: 'Task', End: true } } },
          Next: 'Aggregate',
        },
        Aggregate: { Type: 'Task', End: true },
        Orphan: { Type: 'Pass', End: true },
      },
    });

    // Act
    const g = graphFromDefinition(definition);

    // Assess
    expect(g.layers.map((l) => l.map((s) => s.name))).toEqual([
      ['Probe'],
      ['Route'],
      ['FanOut'],
      ['Aggregate'],
      ['Orphan'],
    ]);
    const fanOut = g.layers[2]?.[0];
    expect(fanOut?.children?.[0]?.layers.map((l) => l.map((s) => s.name))).toEqual([['Run']]);
    expect(g.layers[1]?.[0]?.next).toEqual(['Aggregate', 'FanOut']);
  });

  it('lays out a polling loop without following its edge back', () => {
    // Prepare: Wait -> Check -> (Done | back to Wait), as a job-poller machine is written.
    const definition = JSON.stringify({
      StartAt: 'Submit',
      States: {
        Submit: { Type: 'Task', Next: 'Wait' },
        Wait: { Type: 'Wait', Seconds: 5, Next: 'Check' },
        Check: { Type: 'Choice', Choices: [{ Next: 'Done' }], Default: 'Wait' },
        Done: { Type: 'Succeed' },
      },
    });

    // Act
    const g = graphFromDefinition(definition);

    // Assess
    expect(g.layers.map((l) => l.map((s) => s.name))).toEqual([
      ['Submit'],
      ['Wait'],
      ['Check'],
      ['Done'],
    ]);
    expect(g.layers[2]?.[0]?.next).toEqual(['Wait', 'Done']);
  });
});

describe('stateRunsFromHistory', () => {
  const ev = (e: Partial<HistoryEvent>): HistoryEvent => ({
    id: 1,
    type: 'PassStateEntered',
    timestamp: new Date(0),
    ...e,
  });

  it('marks a state failed on a failure while it ran, and keeps its input and the error', () => {
    // Prepare
    const history = [
      ev({ stateEnteredEventDetails: { name: 'Probe', input: '{"videoId":"v"}' } }),
      ev({ stateExitedEventDetails: { name: 'Probe', output: '{"probe":{}}' } }),
      ev({ stateEnteredEventDetails: { name: 'Plan', input: '{}' } }),
      ev({ lambdaFunctionFailedEventDetails: { error: 'PlanError', cause: 'bad' } }),
      ev({ stateEnteredEventDetails: { name: 'Aggregate', input: '{}' } }),
    ];

    // Act
    const runs = stateRunsFromHistory(history);

    // Assess
    expect(runs.Probe).toEqual({
      status: 'succeeded',
      entered: 1,
      input: '{"videoId":"v"}',
      output: '{"probe":{}}',
    });
    expect(runs.Plan).toMatchObject({ status: 'failed', error: 'PlanError: bad' });
    expect(runs.Aggregate?.status).toBe('running');
  });
});
