/**
 * `npm run bench`: prints five tables and writes bench/results/<timestamp>.json.
 *   (a) end-to-end time of a 30 s 720p clip vs the same ffmpeg work run directly;
 *   (b) Map fan-out of 10 / 100 / 1000 trivial items vs calling the handler directly;
 *   (c) bundle size and cold module-init time of each Lambda;
 *   (d) bytes read from S3 for one thumbnail of a ≥ 500 MB source, before/after range reads;
 *   (e) encode time of the old vs the current ffmpeg build (bench/ffmpeg-builds.ts);
 *   (f) event fan-out throughput, TopicFanOut → QueueWorker, batch size 1 / 10 / 100 (bench/event-fan-out.ts).
 *   (dmap) issue #10 (b): a Distributed Map of trivial items, per item and peak runtime RSS
 *          (bench/distributed-map.ts);
 *   (seg) issue #20 item 7: single-run vs segmented rendition of a 1080p source with audio,
 *          `--repeats` runs (default 2), wall and child CPU; the AWS model of 1 h in one wave
 *          (bench/segments.ts, bench/seg-model.ts).
 *   (load) issue #18, opt-in (not in the default --only, it loads the machine for many minutes):
 *          N concurrent uploads of one long clip, verdicts, wall time and the peak memory of the
 *          runtime's process tree (bench/load.ts).
 * Options: --only a,b,c,d,e,f,dmap,seg   --sizes 10,100,1000   --seconds 30   --repeats 5|2   --cold-repeats 3   --large-mib 500
 *          --messages 10000   --batch-sizes 1,10,100   --dmap-sizes 1000,10000   --segment-seconds 600
 *          --load-videos 20   --load-seconds 60   --load-size 1920x1080   --load-timeout-min 45
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import Table from 'cli-table3';
import { Command } from 'commander';
import { STACK_NAME } from '../contract/index.js';
import { useMediaTools } from '../fixtures/media.js';
import { ROOT as root, synthesize } from '../local-runtime/src/index.js';
import { measureBundles } from './bundles.js';
import { benchDistributedMap } from './distributed-map.js';
import { benchEndToEnd, printEndToEnd } from './end-to-end.js';
import { benchEventFanOut, DEFAULT_SCENARIOS } from './event-fan-out.js';
import { benchFfmpegBuilds } from './ffmpeg-builds.js';
import { synthFanOutApp } from './fixtures/fanout-app.js';
import { handler as trivialWorker } from './fixtures/trivial/worker.js';
import { benchLoad } from './load.js';
import { benchRangeReads } from './range-reads.js';
import { startBenchRuntime } from './runtime.js';
import { benchSegments, printSegmentBench } from './segments.js';

const opts = new Command()
  .option(
    '--only <parts>',
    'which benchmarks: a,b,c,d,e,f,dmap,seg, and the opt-in load',
    'a,b,c,d,e,f,dmap,seg'
  )
  .option('--load-videos <n>', 'concurrent uploads in (load)', '20')
  .option('--load-seconds <s>', 'clip length in (load)', '60')
  .option('--load-size <WxH>', 'clip size in (load)', '1920x1080')
  .option('--load-timeout-min <m>', 'report what finished after this long in (load)', '45')
  .option('--messages <n>', 'messages published per scenario in (f)', '10000')
  .option('--batch-sizes <n,...>', 'which of the batch sizes 1,10,100 (f) runs', '1,10,100')
  .option('--dmap-sizes <n,...>', 'Distributed Map sizes (issue #10 b)', '1000,10000')
  .option('--large-mib <n>', 'source size for (d)', '500')
  .option('--sizes <n,...>', 'fan-out sizes for (b)', '10,100,1000')
  .option('--seconds <s>', 'clip length for (a)', '30')
  .option(
    '--repeats <n>',
    'runs: interleaved direct/pipeline pairs in (a) after its cold runs (default 5); ' +
      'single and segmented runs in (seg) (default 2)'
  )
  .option('--cold-repeats <n>', 'cold runs in (a), each on a fresh runtime', '3')
  .option(
    '--segment-seconds <s>',
    '1080p source length for (seg), segment-parallel vs single run',
    '600'
  )
  .parse()
  .opts<{
    only: string;
    sizes: string;
    seconds: string;
    repeats?: string;
    coldRepeats: string;
    largeMib: string;
    messages: string;
    batchSizes: string;
    dmapSizes: string;
    segmentSeconds: string;
    loadVideos: string;
    loadSeconds: string;
    loadSize: string;
    loadTimeoutMin: string;
  }>();
const parts = new Set(opts.only.split(','));
/** --repeats, else each part's own default. */
const repeatsFor = (part: 'a' | 'seg'): number => {
  const n = Number(opts.repeats ?? (part === 'a' ? 5 : 2));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--repeats must be a positive integer`);
  return n;
};
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ms = (x: number) => Math.round(x);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

// ---- (b) Map fan-out of trivial items ------------------------------------------------------------
const benchFanOut = async (sizes: number[]) => {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-fanout-'));
  const maxConcurrency = 40;
  const assembly = synthFanOutApp(outdir, maxConcurrency);
  const runtime = await startBenchRuntime(assembly, { maxEnvironmentsPerFunction: maxConcurrency });
  const rows = [];
  try {
    const sfn = new SFNClient({ endpoint: runtime.endpoint, region: runtime.region, credentials });
    const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
    const stateMachineArn = stateMachines[0]!.stateMachineArn!;
    const run = async (n: number, name: string) => {
      const items = Array.from({ length: n }, (_, i) => ({ id: `item-${i}`, kind: 'trivial' }));
      const started = performance.now();
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ items }) })
      );
      for (;;) {
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (d.status !== 'RUNNING') {
          if (d.status !== 'SUCCEEDED')
            throw new Error(`fan-out of ${n} ended ${d.status}: ${d.cause}`);
          return performance.now() - started;
        }
        await sleep(10);
      }
    };
    // Start every execution environment once, like warm Lambdas, so the rows measure steady state.
    await run(maxConcurrency, 'warm-up');
    for (const n of sizes) {
      const totalMs = await run(n, `fanout-${n}`);
      const t = performance.now();
      for (let i = 0; i < n; i++) await trivialWorker({ branch: { id: `item-${i}` } });
      const directMs = performance.now() - t;
      rows.push({
        items: n,
        totalMs: ms(totalMs),
        perItemMs: Number((totalMs / n).toFixed(2)),
        directPerItemMs: Number((directMs / n).toFixed(4)),
        overheadPerItemMs: Number(((totalMs - directMs) / n).toFixed(2)),
        maxConcurrency,
      });
    }
  } finally {
    await runtime.stop();
    rmSync(outdir, { recursive: true, force: true });
  }
  return rows;
};

const main = async () => {
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
  };
  if (parts.has('a') || parts.has('c') || parts.has('load')) synthesize();

  if (parts.has('a')) {
    const a = await benchEndToEnd(Number(opts.seconds), repeatsFor('a'), Number(opts.coldRepeats));
    results.endToEnd = a;
    printEndToEnd(a);
  }
  if (parts.has('b')) {
    const b = await benchFanOut(opts.sizes.split(',').map(Number));
    results.fanOut = b;
    const table = new Table({
      head: [
        '(b) items',
        'total ms',
        'per item ms',
        'direct per item ms',
        'overhead per item ms',
        'MaxConcurrency',
      ],
    });
    for (const r of b) {
      table.push([
        r.items,
        r.totalMs,
        r.perItemMs,
        r.directPerItemMs,
        r.overheadPerItemMs,
        r.maxConcurrency,
      ]);
    }
    console.log(table.toString());
  }
  if (parts.has('c')) {
    const c = measureBundles(join(root, 'cdk.out'), STACK_NAME, 7);
    results.bundles = c;
    const table = new Table({
      head: [
        '(c) function',
        'bundle KB',
        'ffmpeg',
        'own init ms (median of 7)',
        'runtime SDK load ms',
        'targets (≤150 KB, ≤50 ms)',
      ],
    });
    for (const r of c) {
      const ok = r.usesFfmpeg
        ? 'n/a (ffmpeg)'
        : `${r.bundleKB <= 150 ? 'size ok' : 'size OVER'}, ${r.coldInitMs <= 50 ? 'init ok' : 'init OVER'}`;
      table.push([
        r.function,
        r.bundleKB,
        r.usesFfmpeg ? 'yes' : 'no',
        r.coldInitMs,
        r.sdkLoadMs,
        ok,
      ]);
    }
    console.log(table.toString());
  }
  if (parts.has('d')) {
    useMediaTools();
    const d = await benchRangeReads(Number(opts.largeMib));
    results.rangeReads = d;
    const table = new Table({ head: ['(d) one thumbnail', 'bytes read', 'requests', 'ms'] });
    table.push(
      [
        `before: download ${d.sourceMiB} MiB, then ffmpeg`,
        d.before.bytes,
        d.before.requests,
        d.before.ms,
      ],
      ['after: ffmpeg on a presigned URL (ranges)', d.after.bytes, d.after.requests, d.after.ms],
      ['ratio before/after', `${d.bytesRatio}×`, '', `${d.timeRatio}×`]
    );
    console.log(table.toString());
  }
  if (parts.has('dmap')) {
    const rows = await benchDistributedMap(opts.dmapSizes.split(',').map(Number));
    results.distributedMap = rows;
    const table = new Table({
      head: [
        '(dmap) items',
        'status',
        'total ms',
        'per item ms',
        '10-item run ms',
        'marginal ms per item',
        'runtime peak RSS MiB',
        'RSS before MiB',
        'MaxConcurrency',
      ],
    });
    for (const r of rows) {
      table.push([
        r.items,
        r.status,
        r.totalMs,
        r.perItemMs,
        r.tenItemRunMs,
        r.marginalPerItemMs,
        r.runtimePeakRssMiB,
        r.runtimeRssBeforeMiB,
        r.maxConcurrency,
      ]);
    }
    console.log(table.toString());
  }
  if (parts.has('e'))
    results.ffmpegBuilds = await benchFfmpegBuilds({ seconds: Number(opts.seconds) });
  if (parts.has('f')) {
    const batchSizes = new Set(opts.batchSizes.split(',').map(Number));
    const f = await benchEventFanOut(
      Number(opts.messages),
      DEFAULT_SCENARIOS.filter((s) => batchSizes.has(s.batchSize))
    );
    results.eventFanOut = f;
    const table = new Table({
      head: [
        '(f) batch / window',
        'messages',
        'msg/s end to end',
        'end to end ms',
        'publish msg/s',
        'invocations',
        'mean batch',
        'runtime CPU ms / 1k msg',
        'Lambda envs CPU ms / 1k msg',
      ],
    });
    for (const r of f) {
      table.push([
        `${r.batchSize} / ${r.windowSeconds} s (≤${r.maxConcurrency} in flight)`,
        r.messages,
        r.messagesPerSecond,
        r.endToEndMs,
        r.publishPerSecond,
        r.invocations,
        r.meanBatch,
        r.runtimeCpuMsPer1000,
        r.workersCpuMsPer1000,
      ]);
    }
    console.log(table.toString());
  }
  if (parts.has('seg')) {
    const f = await benchSegments(Number(opts.segmentSeconds), repeatsFor('seg'));
    results.segments = f;
    printSegmentBench(f);
  }
  if (parts.has('load')) {
    const [width, height] = opts.loadSize.split('x').map(Number);
    const l = await benchLoad({
      videos: Number(opts.loadVideos),
      seconds: Number(opts.loadSeconds),
      width,
      height,
      timeoutMs: Number(opts.loadTimeoutMin) * 60_000,
    });
    results.load = l;
    const table = new Table({
      head: [`(load) ${l.videos} × ${l.seconds} s ${l.width}x${l.height} + audio`, 'value'],
    });
    table.push(
      ['clip', `${l.clipMiB} MiB, generated in ${l.clipGenerationMs} ms`],
      [
        'wall time (uploads sent → last manifest)',
        `${l.wallMs} ms${l.finished ? '' : ' (time limit: not all finished)'}`,
      ],
      [
        'manifests: first / median / last',
        `${l.firstManifestMs} / ${l.medianManifestMs} / ${l.lastManifestMs} ms`,
      ],
      ['verdicts', JSON.stringify(l.verdicts)],
      ['peak RSS of the runtime tree (target < 4096)', `${l.peakTreeRssMiB} MiB`],
      ['peak PSS of the runtime tree', `${l.peakTreePssMiB} MiB`],
      ['peak processes in the tree', l.peakProcesses],
      [
        'Inits past 10 s / Init errors / retried in invoke',
        `${l.initPhaseTimeouts} / ${l.initPhaseErrors} / ${l.initRetriesInInvoke}`,
      ]
    );
    for (const r of l.reasons) table.push(['not COMPLETE', r.slice(0, 200)]);
    console.log(table.toString());
  }
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to ${file}`);
};

await main();
