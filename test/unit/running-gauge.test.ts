import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../lambdas/running-gauge/handler.js';
import { runningGaugePoints } from '../../lambdas/running-gauge/logic.js';
import { metrics } from '../../lambdas/shared/powertools.js';

describe('runningGaugePoints', () => {
  it('folds unconfigured tenants into other (adding), and reads 0 for idle configured ones', () => {
    // Act
    const points = runningGaugePoints(
      new Map([
        ['acme', 3],
        ['noisy', 2],
        ['quiet', 1],
        ['default', 4],
      ]),
      ['acme', 'idle']
    );
    // Assess
    expect(Object.fromEntries(points)).toEqual({ default: 4, acme: 3, idle: 0, other: 3 });
  });

  it('publishes default at 0 when nothing runs', () => {
    expect(Object.fromEntries(runningGaugePoints(new Map(), []))).toEqual({ default: 0 });
  });
});

describe('running-gauge handler', () => {
  const sfnMock = mockClient(SFNClient);
  const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:Video';
  let published: Array<{ value: unknown; tenant: unknown }>;

  beforeEach(() => {
    sfnMock.reset();
    vi.stubEnv('STATE_MACHINE_ARN', MACHINE);
    vi.stubEnv('METRIC_TENANTS', 'acme');
    published = [];
    const collect = (m: typeof metrics) => {
      const emf = m.serializeMetrics() as unknown as Record<string, unknown>;
      published.push({ value: emf.RunningWorkflows, tenant: emf.tenant });
      m.clearMetrics();
      return m;
    };
    vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => collect(metrics));
    const single = metrics.singleMetric.bind(metrics);
    vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
      const m = single();
      vi.spyOn(m, 'publishStoredMetrics').mockImplementation(() => collect(m));
      return m;
    });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('counts RUNNING executions over every page and publishes overall and per tenant', async () => {
    // Prepare: two pages, tenants from the execution names (the videoIds)
    sfnMock
      .on(ListExecutionsCommand, { stateMachineArn: MACHINE, statusFilter: 'RUNNING' })
      .resolvesOnce({
        executions: [
          {
            name: 'acme--a-1',
            executionArn: 'e1',
            stateMachineArn: MACHINE,
            status: 'RUNNING',
            startDate: new Date(),
          },
          {
            name: 'clip-2',
            executionArn: 'e2',
            stateMachineArn: MACHINE,
            status: 'RUNNING',
            startDate: new Date(),
          },
        ],
        nextToken: 'p2',
      })
      .resolvesOnce({
        executions: [
          {
            name: 'zeta--c-3',
            executionArn: 'e3',
            stateMachineArn: MACHINE,
            status: 'RUNNING',
            startDate: new Date(),
          },
        ],
      });

    // Act
    const result = await handler();

    // Assess
    expect(result).toEqual({ total: 3 });
    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(published).toEqual(
      expect.arrayContaining([
        { value: 3, tenant: undefined },
        { value: 1, tenant: 'acme' },
        { value: 1, tenant: 'default' },
        { value: 1, tenant: 'other' },
      ])
    );
    expect(published).toHaveLength(4);
  });
});
