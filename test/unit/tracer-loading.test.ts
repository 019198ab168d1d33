import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Loads lambdas/shared/powertools.ts in a fresh Node process (the X-Ray SDK, once loaded,
 * stays loaded for the process) with the given environment, and reports what it got.
 */
const loadIn = (env: Record<string, string>) => {
  // Prepare: a child with only the variables under test set (plus PATH and HOME).
  const script = `
    import { createRequire } from 'node:module';
    import { S3Client } from '@aws-sdk/client-s3';
    const { tracer } = await import('./lambdas/shared/powertools.ts');
    const client = new S3Client({ region: 'us-east-1' });
    const before = client.middlewareStack.identify().length;
    tracer.captureAWSv3Client(client);
    tracer.putAnnotation('videoId', 'v');
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      tracer: tracer.constructor.name,
      xrayLoaded: loaded.some((f) => f.includes('/aws-xray-sdk-core/')),
      middlewareAdded: client.middlewareStack.identify().length - before,
    }));
  `;
  // Act
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', script],
    {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    }
  );
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
    tracer: string;
    xrayLoaded: boolean;
    middlewareAdded: number;
  };
};

describe('the functions load Powertools Tracer only where tracing may be on', () => {
  it('POWERTOOLS_TRACE_ENABLED=false: the X-Ray SDK is never loaded, clients stay as built', () => {
    const got = loadIn({
      POWERTOOLS_TRACE_ENABLED: 'FALSE',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    });
    // Assess: no async hook installed by cls-hooked, no middleware on the client.
    expect(got).toEqual({ tracer: 'Object', xrayLoaded: false, middlewareAdded: 0 });
  });

  it('in Lambda with tracing not switched off (Tracing.ACTIVE on AWS): Powertools Tracer wraps clients', () => {
    const got = loadIn({
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      _X_AMZN_TRACE_ID:
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    });
    expect(got.tracer).toBe('Tracer');
    expect(got.xrayLoaded).toBe(true);
    expect(got.middlewareAdded).toBeGreaterThan(0);
  });
});
