import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type TenantQuotas,
  tenantOfVideoId,
  tenantQuotasProblem,
  videoIdFor,
} from '../../contract/index.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { StartBudget } from '../../lambdas/start-workflow/backpressure.js';
import { handler } from '../../lambdas/start-workflow/handler.js';
import { sfn } from '../../lambdas/start-workflow/logic.js';
import {
  countByTenant,
  decideStart,
  type RunningCount,
  tenantQuotasFromEnv,
} from '../../lambdas/start-workflow/tenant-quota.js';
import {
  lambdaContextFactory,
  snsRawS3Message,
  sqsEventFactory,
  sqsRecordFactory,
} from '../helpers/factories.js';

const countFactory = (byTenant: Record<string, number> = {}): RunningCount => ({
  total: Object.values(byTenant).reduce((a, b) => a + b, 0),
  byTenant: new Map(Object.entries(byTenant)),
});

const QUOTAS: TenantQuotas = { default: 2, tenants: { acme: 4 } };

describe('videoId and tenant', () => {
  it.each([
    {
      key: 'uploads/clip.mp4',
      // printf '%s' 'upload-bucket/uploads/clip.mp4#v1' | sha256sum | cut -c1-16
      videoId: 'clip-0e157236a73531b6',
      tenant: 'default',
    },
    {
      key: 'uploads/acme/clip.mp4',
      // printf '%s' 'upload-bucket/uploads/acme/clip.mp4#v1' | sha256sum | cut -c1-16
      videoId: 'acme--clip-0266e19a5c50c0f3',
      tenant: 'acme',
    },
  ])('$key is video $videoId of tenant $tenant', ({ key, videoId, tenant }) => {
    // Act
    const id = videoIdFor({ bucket: 'upload-bucket', key, versionId: 'v1' });

    // Assess
    expect(id).toBe(videoId);
    expect(tenantOfVideoId(id)).toBe(tenant);
  });

  it('fits the 80-character execution name with the longest tenant and slug', () => {
    // Prepare
    const key = `uploads/${'t'.repeat(20)}/${'a'.repeat(200)}.mp4`;

    // Act
    const id = videoIdFor({ bucket: 'upload-bucket', key, etag: 'e' });

    // Assess
    expect(id).toMatch(/^[a-z0-9-]{1,80}$/);
    expect(tenantOfVideoId(id)).toBe('t'.repeat(20));
  });
});

interface DecideCase {
  case: string;
  tenant: string;
  running: Record<string, number>;
  started: Record<string, number>;
  bound: number | undefined;
  decision: string;
}

describe('decideStart', () => {
  it.each<DecideCase>([
    {
      case: 'room everywhere',
      tenant: 'acme',
      running: { acme: 1 },
      started: {},
      bound: 10,
      decision: 'start',
    },
    {
      case: 'the tenant at its own quota',
      tenant: 'acme',
      running: { acme: 4 },
      started: {},
      bound: 10,
      decision: 'over-tenant-quota',
    },
    {
      case: 'the tenant at its quota with this batch',
      tenant: 'acme',
      running: { acme: 3 },
      started: { acme: 1 },
      bound: 10,
      decision: 'over-tenant-quota',
    },
    {
      case: 'another tenant busy, this one free',
      tenant: 'globex',
      running: { acme: 4 },
      started: {},
      bound: 10,
      decision: 'start',
    },
    {
      case: 'an unlisted tenant at the default quota',
      tenant: 'globex',
      running: { globex: 2 },
      started: {},
      bound: 10,
      decision: 'over-tenant-quota',
    },
    {
      case: 'the default tenant at the default quota',
      tenant: 'default',
      running: { default: 1 },
      started: { default: 1 },
      bound: 10,
      decision: 'over-tenant-quota',
    },
    {
      case: 'under its quota but at the global bound',
      tenant: 'globex',
      running: { acme: 4 },
      started: { default: 1 },
      bound: 5,
      decision: 'over-bound',
    },
    {
      case: 'no global bound, under quota',
      tenant: 'acme',
      running: { acme: 3, other: 100 },
      started: {},
      bound: undefined,
      decision: 'start',
    },
  ])('$case: $decision', ({ tenant, running, started, bound, decision }) => {
    // Act
    const actual = decideStart({
      tenant,
      running: countFactory(running),
      startedInBatch: countFactory(started),
      bound,
      quotas: QUOTAS,
    });

    // Assess
    expect(actual).toBe(decision);
  });

  it('without quotas only the global bound decides', () => {
    // Act
    const decisions = [9, 10].map((n) =>
      decideStart({
        tenant: 'acme',
        running: countFactory({ acme: n }),
        startedInBatch: countFactory(),
        bound: 10,
      })
    );

    // Assess
    expect(decisions).toEqual(['start', 'over-bound']);
  });
});

describe('StartBudget with quotas', () => {
  it('hands out slots per tenant within one batch, counting once', async () => {
    // Prepare
    const count = vi.fn(async () => countFactory({ acme: 3 }));
    const budget = new StartBudget({ bound: 10, quotas: QUOTAS }, count);

    // Act
    const decisions = [];
    for (const tenant of ['acme', 'acme', 'globex', 'globex', 'globex']) {
      decisions.push(await budget.take(tenant));
    }

    // Assess
    expect(decisions).toEqual([
      'start',
      'over-tenant-quota',
      'start',
      'start',
      'over-tenant-quota',
    ]);
    expect(count).toHaveBeenCalledTimes(1);
  });
});

describe('countByTenant', () => {
  it('reads the tenant from each execution name', () => {
    // Act
    const count = countByTenant([
      'clip-0e157236a73531b6',
      'acme--clip-0266e19a5c50c0f3',
      'acme--other-0123456789abcdef',
      'globex--x-0123456789abcdef',
    ]);

    // Assess
    expect(count.total).toBe(4);
    expect(Object.fromEntries(count.byTenant)).toEqual({ default: 1, acme: 2, globex: 1 });
  });
});

describe('tenant quota configuration', () => {
  it('parses TENANT_QUOTAS and treats unset as no quota', () => {
    // Act
    const parsed = tenantQuotasFromEnv('{"default":5,"tenants":{"acme":20}}');
    const unset = tenantQuotasFromEnv(undefined);

    // Assess
    expect(parsed).toEqual({ default: 5, tenants: { acme: 20 } });
    expect(unset).toBeUndefined();
  });

  it.each([
    { quotas: { default: 0 }, problem: /^default: / },
    { quotas: { default: 2.5 }, problem: /^default: / },
    { quotas: { tenants: { acme: 3 } }, problem: /^default: / },
    { quotas: { default: 5, tenants: { acme: -1 } }, problem: /^tenants\.acme: / },
    { quotas: { default: 5, tenants: { 'Not A Tenant': 3 } }, problem: /^tenants/ },
  ])('rejects $quotas', ({ quotas, problem }) => {
    // Act
    const actual = tenantQuotasProblem(quotas);

    // Assess
    expect(actual).toMatch(problem);
  });

  it('names the env variable when TENANT_QUOTAS is not JSON', () => {
    // Act
    const act = () => tenantQuotasFromEnv('{default: 5}');

    // Assess
    expect(act).toThrow('TENANT_QUOTAS is not JSON: {default: 5}');
  });
});

describe('start-workflow with tenant quotas', () => {
  const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:video';
  const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/starter';
  const sfnMock = mockClient(sfn);
  const sqsMock = mockClient(SQSClient);
  const s3Mock = mockClient(s3);
  const upload = (key: string, messageId: string) =>
    sqsRecordFactory(snsRawS3Message([{ key }]), { messageId });
  const runningNamed = (names: string[]) =>
    names.map((name, i) => ({
      executionArn: `arn:exec:${i}`,
      stateMachineArn: STATE_MACHINE_ARN,
      name,
      status: 'RUNNING' as const,
      startDate: new Date(),
    }));

  beforeEach(() => {
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE_ARN);
    vi.stubEnv('MAX_RUNNING_WORKFLOWS', '10');
    vi.stubEnv('TENANT_QUOTAS', JSON.stringify({ default: 5, tenants: { acme: 2 } }));
    vi.stubEnv('STARTER_QUEUE_URL', QUEUE_URL);
    vi.stubEnv('UPLOAD_BUCKET', 'upload-bucket');
    s3Mock.reset();
    // S3 holds the object each event names (the factories' default ETag).
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"d41d8cd98f00b204e9800998ecf8427e"' });
    sfnMock.reset();
    sqsMock.reset();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('holds back the tenant at its quota and starts the others, reading every page', async () => {
    // Prepare: acme has one running on each of two pages.
    sfnMock
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: runningNamed(['acme--a-0123456789abcdef']), nextToken: 'p2' })
      .resolvesOnce({
        executions: runningNamed(['acme--b-0123456789abcdef', 'c-0123456789abcdef']),
      });
    const event = sqsEventFactory([
      upload('uploads/acme/new.mp4', 'acme-1'),
      upload('uploads/globex/new.mp4', 'globex-1'),
      upload('uploads/new.mp4', 'default-1'),
    ]);

    // Act
    const res = (await handler(event, lambdaContextFactory(), () => undefined)) as {
      batchItemFailures: { itemIdentifier: string }[];
    };

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'acme-1' }]);
    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(sfnMock).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      statusFilter: 'RUNNING',
      maxResults: 1000,
      nextToken: 'p2',
    });
    const started = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(started.map((name) => tenantOfVideoId(name ?? ''))).toEqual(['globex', 'default']);
    const visibility = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0].args[0].input;
    expect(visibility.QueueUrl).toBe(QUEUE_URL);
    expect(visibility.VisibilityTimeout).toBeGreaterThanOrEqual(5);
  });

  it('refuses an invalid TENANT_QUOTAS with its reason', async () => {
    // Prepare
    vi.stubEnv('TENANT_QUOTAS', JSON.stringify({ default: 0 }));

    // Act
    const act = handler(
      sqsEventFactory([upload('uploads/a.mp4', 'm-1')]),
      lambdaContextFactory(),
      () => undefined
    );

    // Assess
    await expect(act).rejects.toThrow(/^TENANT_QUOTAS is invalid: default: /);
  });
});
