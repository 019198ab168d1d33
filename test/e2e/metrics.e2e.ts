import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import type { KindTenantRow, MetricsView } from '../../cli/src/metrics.js';
import { type Manifest, STACK_NAME } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { REPO_ROOT } from '../../scripts/project.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { clientsFor, readOutputs } from './target.js';
import { manifestIfWritten, putUpload } from './videos.js';

const target = inject('e2eTarget');
const runId = Date.now().toString(36);

/**
 * `npm run metrics` reads the EMF records the local runtime keeps
 * (GET /_local/metrics); LocalStack and AWS do not serve them (on AWS the
 * dashboard shows the same figures from CloudWatch), so this file runs on the
 * local runtime only, and says so elsewhere.
 */
const onlyLocal =
  target.name === 'local'
    ? undefined
    : `the metrics command reads the local runtime's /_local/metrics; ${target.name} does not serve the functions' EMF records`;

/** The CLI reads `cdk deploy --outputs-file`'s shape; the suite's file may be flat. */
let cliOutputsFile: string | undefined;
const cliOutputs = (): string => {
  cliOutputsFile ??= join(mkdtempSync(join(tmpdir(), 'metrics-e2e-')), 'outputs.json');
  writeFileSync(cliOutputsFile, JSON.stringify({ [STACK_NAME]: readOutputs(target.outputsFile) }));
  return cliOutputsFile;
};

/** The real CLI in a child process, as a user runs it. */
const metricsCli = () =>
  new Promise<MetricsView>((resolve, reject) => {
    execFile(
      join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [
        join(REPO_ROOT, 'cli/src/main.ts'),
        'metrics',
        '--json',
        '--outputs',
        cliOutputs(),
        '--endpoint-url',
        target.endpoint ?? '',
      ],
      { cwd: REPO_ROOT, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`metrics CLI failed: ${stderr || err.message}`));
        else resolve(JSON.parse(stdout) as MetricsView);
      }
    );
  });

const row = (view: MetricsView, kind: string, tenant: string): KindTenantRow | undefined =>
  view.byKindAndTenant.find((r) => r.kind === kind && r.tenant === tenant);

describeE2E(target, onlyLocal)(`metrics from the CLI on ${target.name}`, () => {
  afterAll(() => cleanupMedia());

  it('shows the branches of a run per kind for its tenant, its latency and its status', async () => {
    // Prepare: the figures before the run (other files may have run on this runtime).
    const out = readOutputs(target.outputsFile);
    const aws = clientsFor(target);
    const before = await metricsCli();
    const clip = await makeClip({ seconds: 2, width: 320, height: 180 });
    const key = `uploads/metrics-${runId}.mp4`; // directly under uploads/: tenant `default`

    // Act
    const { videoId } = await putUpload(aws.s3, out.UploadBucketName, key, clip);
    const manifest = await poll(
      `manifest of ${videoId}`,
      () => manifestIfWritten(aws.s3, out.OutputBucketName, videoId),
      180_000,
      { intervalMs: 1000 }
    );
    // The aggregator prints its EMF records just after writing the manifest.
    const after = await poll(
      'the run in the metrics',
      async () => {
        const view = await metricsCli();
        const latency = (v: MetricsView) =>
          v.byTenant.find((t) => t.tenant === 'default')?.manifests ?? 0;
        return latency(view) > latency(before) ? view : undefined;
      },
      180_000,
      { intervalMs: 1000 }
    );

    // Assess: per kind, the CLI's counts grew by what the manifest reports for that kind.
    expect(manifest.tenant).toBe('default');
    const kinds = [...new Set(manifest.branches.map((b) => b.kind))];
    expect(kinds.length).toBeGreaterThanOrEqual(3);
    for (const kind of kinds) {
      const entries = manifest.branches.filter((b) => b.kind === kind);
      const delta = (field: 'emitted' | 'succeeded' | 'failed' | 'timedOut') =>
        (row(after, kind, 'default')?.[field] ?? 0) - (row(before, kind, 'default')?.[field] ?? 0);
      expect({
        kind,
        emitted: delta('emitted'),
        succeeded: delta('succeeded'),
        failed: delta('failed'),
        timedOut: delta('timedOut'),
      }).toEqual({
        kind,
        emitted: entries.filter((b) => b.status !== 'SKIPPED').length,
        succeeded: entries.filter((b) => b.status === 'SUCCEEDED').length,
        failed: entries.filter((b) => b.status === 'FAILED').length,
        timedOut: entries.filter((b) => b.status === 'TIMED_OUT').length,
      });
      expect(row(after, kind, 'default')?.durationP50Ms).toEqual(expect.any(Number));
    }
    const status = manifest.status.toLowerCase() as Lowercase<Manifest['status']>;
    expect(after.videos[status] - before.videos[status]).toBe(1);
    const latency = after.byTenant.find((t) => t.tenant === 'default');
    expect(latency?.latencyMaxMs).toBeGreaterThan(0);
  }, 240_000);
});
