import '../helpers/env.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { correlateRecordTenant, logger } from '../../lambdas/shared/powertools.js';
import { tenantsInBody } from '../../lambdas/shared/s3-events.js';
import { defineStateTask } from '../../lambdas/shared/state-task.js';
import { lambdaContextFactory, s3TestEventMessage, snsRawS3Message } from '../helpers/factories.js';

describe('tenant on every log line', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('the state-task wrapper appends the input tenant before the task runs', async () => {
    // Prepare
    const appendKeys = vi.spyOn(logger, 'appendKeys');
    const task = defineStateTask(
      z.object({ videoId: z.string(), tenant: z.string() }),
      'test input',
      // What the logger had been given by the time the task's own code runs.
      async () => appendKeys.mock.calls.map(([keys]) => keys)
    );

    // Act
    const keysBeforeTask = await task(
      { videoId: 'acme--clip-1', tenant: 'acme' },
      lambdaContextFactory()
    );

    // Assess
    expect(keysBeforeTask).toContainEqual({ videoId: 'acme--clip-1', tenant: 'acme' });
  });

  it.each([
    {
      description: 'one upload',
      body: snsRawS3Message([{ key: 'uploads/acme/a.mp4' }]),
      tenant: 'acme',
    },
    {
      description: 'uploads of two tenants in one body',
      body: snsRawS3Message([{ key: 'uploads/acme/a.mp4' }, { key: 'uploads/b.mp4' }]),
      tenant: 'acme,default',
    },
    {
      description: 'a folder name that is not a tenant name, folded',
      body: snsRawS3Message([{ key: 'uploads/A%20B/x.mp4' }]),
      tenant: 'a-b',
    },
  ])('a queue record is tagged with its tenant: $description', ({ body, tenant }) => {
    // Prepare
    const appendKeys = vi.spyOn(logger, 'appendKeys');

    // Act
    correlateRecordTenant(body, tenantsInBody);

    // Assess
    expect(appendKeys).toHaveBeenCalledWith({ tenant });
  });

  it.each([
    { description: 'not JSON', body: '{"Records": [' },
    { description: 'the S3 test event', body: s3TestEventMessage() },
  ])(
    'a record with $description gets no tenant (and no stale one) without throwing',
    ({ body }) => {
      // Prepare
      const appendKeys = vi.spyOn(logger, 'appendKeys');
      const removeKeys = vi.spyOn(logger, 'removeKeys');

      // Act
      correlateRecordTenant(body, tenantsInBody);

      // Assess
      expect(removeKeys).toHaveBeenCalledWith(['tenant']);
      expect(appendKeys).not.toHaveBeenCalled();
    }
  );
});
