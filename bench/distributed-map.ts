/**
 * Issue #10 bench (b): a Distributed Map of trivial items on the local runtime.
 * The fixture app's `Items` flow (fixtures/distributed-map: one child execution
 * per item, MaxConcurrency 10, plan in S3, ResultWriter, layered fan-in) runs on
 * a runtime in its own process, one process per size, so its peak RSS (VmHWM) is
 * that size's alone. Lambda workers are separate processes and not counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { createDistributedMapApp } from '../fixtures/distributed-map/app.js';
import { memoryOf, startRuntimeProcess } from '../local-runtime/test/helpers.js';

export interface DistributedMapRow {
  items: number;
  status: string;
  totalMs: number;
  perItemMs: number;
  /** A warm run of 10 items: the fixed cost (plan, Map Run start, fan-in, polling). */
  tenItemRunMs: number;
  /** (total − the 10-item run) / (items − 10): what each further item costs. */
  marginalPerItemMs: number;
  runtimePeakRssMiB: number;
  runtimeRssBeforeMiB: number;
  maxConcurrency: number;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export async function benchDistributedMap(sizes: number[]): Promise<DistributedMapRow[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-dmap-'));
  createDistributedMapApp({ outdir }).app.synth();
  const rows: DistributedMapRow[] = [];
  try {
    for (const n of sizes) {
      const rt = await startRuntimeProcess(outdir);
      const sfn = new SFNClient({ endpoint: rt.endpoint, region: 'us-east-1', credentials });
      try {
        const run = async (count: number, runId: string) => {
          const started = performance.now();
          const { executionArn } = await sfn.send(
            new StartExecutionCommand({
              stateMachineArn: rt.outputs.ItemsStateMachineArn,
              name: runId,
              input: JSON.stringify({ runId, count }),
            })
          );
          for (;;) {
            const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
            if (d.status !== 'RUNNING') {
              if (d.status !== 'SUCCEEDED') {
                throw new Error(`Distributed Map of ${count} ended ${d.status}: ${d.cause}`);
              }
              return { ms: performance.now() - started, status: JSON.parse(d.output!).status };
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        };
        // Warm the execution environments (10 workers), then a small run as the baseline.
        await run(10, 'warm-up');
        const baseline = await run(10, 'baseline');
        const before = memoryOf(rt.pid);
        const r = await run(n, `items-${n}`);
        const after = memoryOf(rt.pid);
        rows.push({
          items: n,
          status: r.status,
          totalMs: Math.round(r.ms),
          perItemMs: Number((r.ms / n).toFixed(2)),
          tenItemRunMs: Math.round(baseline.ms),
          marginalPerItemMs: Number(((r.ms - baseline.ms) / (n - 10)).toFixed(2)),
          runtimePeakRssMiB: Math.round(after.peakMiB),
          runtimeRssBeforeMiB: Math.round(before.rssMiB),
          maxConcurrency: 10,
        });
      } finally {
        sfn.destroy();
        await rt.stop();
      }
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  return rows;
}
