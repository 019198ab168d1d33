import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { TraceLogRecord } from '../../cli/src/trace.js';
import { manifestKey } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { REPO_ROOT } from '../../scripts/project.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { clientsFor, readOutputs } from './target.js';
import { putUpload } from './videos.js';

/**
 * One trace per video on the local runtime: the starter's StartExecution carries its
 * trace header, the execution hands it to every task, and every log line of the video's
 * workflow carries the same `xray_trace_id`; `status <videoId> --trace` prints its spans.
 * The lines are read from the runtime (GET /_local/logs); LocalStack keeps no such
 * record and sends traces to no X-Ray, so this file runs on the local runtime only.
 */
const target = inject('e2eTarget');
const runId = Date.now().toString(36);
/**
 * Invoked apart from the workflow, so each starts a trace of its own, on AWS as here: the upload
 * audit (a second subscriber of the upload topic) and the verdict keeper (an EventBridge target of
 * the execution's status-change event, which carries no trace header; it runs for every ending to
 * give the admission lease back, and may log the videoId before or after this test reads the lines).
 */
const OWN_TRACE = /UploadAudit|VerdictKeeper/;

const notHere =
  target.name === 'local'
    ? undefined
    : `the trace is read from the local runtime's log records (GET /_local/logs), which ${target.name} does not keep`;

const shortName = (name: string) => name.replace(/^[^-]+-/, '').replace(/[0-9A-F]{8}$/, '');

describeE2E(target, notHere)(`one trace per video (${target.name})`, () => {
  let out: ReturnType<typeof readOutputs>;
  let aws: ReturnType<typeof clientsFor>;
  beforeAll(() => {
    out = readOutputs(target.outputsFile);
    aws = clientsFor(target);
  });
  afterAll(() => cleanupMedia());

  const logs = async (query: string): Promise<TraceLogRecord[]> => {
    const res = await fetch(new URL(`/_local/logs?${query}`, target.endpoint));
    return ((await res.json()) as { records: TraceLogRecord[] }).records;
  };

  it('puts the same trace id on every log line of the video, and status --trace prints its spans', async () => {
    // Prepare
    const clip = await makeClip({ seconds: 1, width: 160, height: 90 });
    const key = `uploads/e2e-trace/${runId}/clip.mp4`;

    // Act
    const { videoId } = await putUpload(aws.s3, out.UploadBucketName, key, clip);
    await poll(
      `manifest of ${videoId}`,
      async () => {
        try {
          await aws.s3.send(
            new GetObjectCommand({ Bucket: out.OutputBucketName, Key: manifestKey(videoId) })
          );
          return true;
        } catch {
          return false;
        }
      },
      180_000
    );
    const lines = (await logs(`videoId=${encodeURIComponent(videoId)}`)).filter(
      (r) => !OWN_TRACE.test(r.function)
    );
    const traceIds = [...new Set(lines.map((r) => r.traceId))];
    const inTrace = traceIds.length === 1 ? await logs(`traceId=${traceIds[0]}`) : [];
    const outputs = join(mkdtempSync(join(tmpdir(), 'e2e-trace-')), 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ VideoPipeline: out }));
    const status = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
        [
          join(REPO_ROOT, 'cli', 'src', 'main.ts'),
          '--outputs',
          outputs,
          '--endpoint-url',
          target.endpoint!,
          'status',
          videoId,
          '--trace',
        ],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
          timeout: 120_000,
        },
        (err, stdout) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout })
      );
    });

    // Assess: the starter and every task of the workflow, one trace
    const functions = new Set(lines.map((r) => shortName(r.function)));
    for (const fn of ['StartWorkflow', 'Probe', 'Plan', 'Aggregate']) {
      expect([...functions], fn).toContain(fn);
    }
    expect([...functions].some((f) => f.endsWith('Branch'))).toBe(true);
    expect(traceIds).toHaveLength(1);
    expect(traceIds[0]).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    // Each invocation of the video ended with a REPORT in the same trace (a line without a
    // request id, from a handler that adds no Lambda context, is covered by its function's REPORT)
    const reports = inTrace.filter((r) => r.durationMs !== undefined);
    const reported = new Set(reports.map((r) => r.requestId));
    for (const r of lines.filter((l) => l.requestId)) {
      expect(reported, `${r.function} ${r.requestId}`).toContain(r.requestId);
    }
    for (const fn of functions) {
      expect(
        reports.map((r) => shortName(r.function)),
        fn
      ).toContain(fn);
    }
    expect(status.stdout).toMatch(new RegExp(`trace ${traceIds[0]}: \\d+ spans over \\d+ ms`));
    for (const fn of ['StartWorkflow', 'Probe', 'Plan', 'Aggregate']) {
      expect(status.stdout).toMatch(new RegExp(`\\d+ ms +\\d+ ms  ${fn} `));
    }
  });
});
