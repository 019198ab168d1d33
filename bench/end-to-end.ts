/**
 * Bench (a), issue #20 item 8: end-to-end time of one clip through the local runtime vs the same
 * work run directly, repeated in turns (direct, pipeline, direct, pipeline, …) after one cold
 * pipeline run, with every warm pipeline run broken into hops (bench/end-to-end-stats.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, type HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import Table from 'cli-table3';
import { ManifestSchema, manifestKey, videoIdFor } from '../contract/index.js';
import { makeClip, useMediaTools } from '../fixtures/media.js';
import { DEFAULT_PLAN_CONFIG, kindOf, planBranches } from '../lambdas/branch-kinds/index.js';
import { probeFile } from '../lambdas/probe/logic.js';
import { phasesOf } from '../lambdas/run-branch/phases.js';
import { tallyTools } from '../lambdas/shared/media.js';
import { ROOT as root } from '../local-runtime/src/index.js';
import {
  AGGREGATE_TASK_LABEL,
  type BranchSplit,
  branchStateTimes,
  HOP_LABELS,
  type Hops,
  hopSpreads,
  hopsOf,
  type LogRecordLike,
  pairRatios,
  SPLIT_FIELDS,
  type Spread,
  splitMedians,
  spreadOf,
} from './end-to-end-stats.js';
import { treeCpuMs } from './process-tree.js';
import { startBenchRuntime } from './runtime.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ms = (x: number) => Math.round(x);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const ratio = (x: number) => Number(x.toFixed(3));
const roundSpread = (s: Spread) => ({
  n: s.n,
  median: ms(s.median),
  min: ms(s.min),
  max: ms(s.max),
});
/**
 * The manifest is read when the video's VideoProcessed event arrives (published
 * right after the manifest is written; the bench's queue long-polls it), and
 * otherwise every MANIFEST_POLL_MS in case the event is lost. A GetObject every
 * 20 ms, as before, cost the runtime and the bench CPU on the same two cores as
 * the branches, which only the pipeline side paid.
 */
const MANIFEST_POLL_MS = 500;

export const TARGET_WARM_RATIO = 1.05;
export const TARGET_COLD_RATIO = 1.2;

export const benchEndToEnd = async (seconds: number, repeats: number, coldRepeats = 3) => {
  if (!(Number.isInteger(repeats) && repeats >= 1)) {
    throw new Error(`--repeats must be a whole number ≥ 1, got ${repeats}`);
  }
  if (!(Number.isInteger(coldRepeats) && coldRepeats >= 1)) {
    throw new Error(`cold repeats must be a whole number ≥ 1, got ${coldRepeats}`);
  }
  useMediaTools();
  const clip = await makeClip({ seconds, width: 1280, height: 720 });
  const body = readFileSync(clip);
  const work = mkdtempSync(join(tmpdir(), 'bench-direct-'));
  const source = { bucket: 'bench', key: 'uploads/bench.mp4', etag: 'x' };

  // Direct: the same logic functions the Lambdas run, on the same machine, no pipeline.
  const probeOnce = async () => {
    const t = performance.now();
    const probe = await probeFile(clip);
    return { probe, probeMs: performance.now() - t };
  };
  const { probe } = await probeOnce();
  const plan = planBranches(probe, DEFAULT_PLAN_CONFIG);
  const runBranch = (branch: (typeof plan.branches)[number], input = clip) =>
    kindOf(branch).run(branch, {
      videoId: 'bench',
      source,
      probe,
      input,
      workDir: work,
      timeBudget: () => 600_000,
    });
  // Each branch alone, once: the ideal critical path, and a warm-up of the direct side
  // (page cache, ffmpeg loaded) as the cold pipeline run is for the pipeline side.
  const alone: Record<string, number> = {};
  for (const branch of plan.branches) {
    const t = performance.now();
    await runBranch(branch);
    alone[branch.id] = performance.now() - t;
  }
  const slowest = Math.max(...Object.values(alone));
  const runDirect = async (input = clip) => {
    const { probeMs } = await probeOnce();
    const t = performance.now();
    // Each branch's own run() time and tool time, side by side as in the pipeline.
    const perBranch = await Promise.all(
      plan.branches.map(async (branch) => {
        const started = performance.now();
        const { tools } = await tallyTools(() => runBranch(branch, input));
        return [branch.id, { runMs: performance.now() - started, toolMs: tools.ms }] as const;
      })
    );
    const parallelMs = performance.now() - t;
    return {
      probeMs,
      parallelMs,
      criticalMs: probeMs + parallelMs,
      perBranch: Object.fromEntries(perBranch),
    };
  };

  // Pipeline: upload → manifest through the local runtime, same template and bundles as AWS.
  // One runtime process, its queue for the published events, and the run of one upload.
  const openPipeline = async () => {
    const runtime = await startBenchRuntime(join(root, 'cdk.out'));
    const client = { endpoint: runtime.endpoint, region: runtime.region, credentials };
    const s3 = new S3Client({ ...client, forcePathStyle: true });
    const sfn = new SFNClient(client);
    const out = runtime.outputs;
    // An unfiltered subscriber of the VideoProcessed topic sees VideoPlayable when it is published.
    const sqs = new SQSClient(client);
    const sns = new SNSClient(client);
    const { QueueUrl: queueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'bench-processed' })
    );
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: out.ProcessedTopicArn,
        Protocol: 'sqs',
        Endpoint: Attributes?.QueueArn,
        Attributes: { RawMessageDelivery: 'true' },
      })
    );
    // Long polls (1 s): a 50 ms receive loop competed with the pipeline for the same cores.
    // Resolves `playable` with VideoPlayable's arrival (ms after `started`, null if none came)
    // and `processed` when the video's VideoProcessed arrives.
    const watchEvents = (videoId: string, started: number, done: () => boolean) => {
      let processedSeen: () => void = () => undefined;
      let seen = false;
      const processed = new Promise<void>((resolve) => {
        processedSeen = () => {
          seen = true;
          resolve();
        };
      });
      const playable = (async () => {
        let playableMs: number | null = null;
        while (!done() && !(seen && playableMs !== null)) {
          const res = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 1,
              MessageAttributeNames: ['All'],
            })
          );
          const received = performance.now();
          const messages = res.Messages ?? [];
          if (messages.length > 0) {
            await sqs.send(
              new DeleteMessageBatchCommand({
                QueueUrl: queueUrl,
                Entries: messages.map((m, i) => ({
                  Id: String(i),
                  ReceiptHandle: m.ReceiptHandle,
                })),
              })
            );
          }
          for (const m of messages) {
            const msg = JSON.parse(m.Body ?? '{}') as { videoId?: string };
            if (msg.videoId !== videoId) continue;
            const type = m.MessageAttributes?.type?.StringValue;
            if (type === 'VideoPlayable' && playableMs === null) playableMs = received - started;
            if (type === 'VideoProcessed') processedSeen();
          }
        }
        return playableMs;
      })();
      return { playable, processed };
    };
    const logsOf = async (query: Record<string, string>): Promise<LogRecordLike[]> => {
      const url = new URL('/_local/logs', runtime.endpoint);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
      return ((await res.json()) as { records: LogRecordLike[] }).records;
    };
    /** Each branch handler's split (phases.ts), from the EMF records the runtime kept. */
    const phasesFor = async (videoId: string) => {
      const res = await fetch(new URL('/_local/metrics', runtime.endpoint));
      if (!res.ok) throw new Error(`GET /_local/metrics answered ${res.status}`);
      const { records } = (await res.json()) as { records: { record: Record<string, unknown> }[] };
      const out: Record<string, Record<string, number>> = {};
      for (const { record } of records) {
        const found = phasesOf(record);
        if (found?.videoId === videoId) out[found.branchId] = { ...found.phases };
      }
      return out;
    };
    const historyOf = async (videoId: string) => {
      const executionArn = `${out.StateMachineArn!.replace(':stateMachine:', ':execution:')}:${videoId}`;
      const events: HistoryEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken })
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return events;
    };
    /**
     * CPU the pipeline's own processes used (user + system): the runtime's process, its
     * Lambda environments' Node processes (ffmpeg's time is not in them: a reaped child's
     * time goes to cutime, which this leaves out) and the bench's process (its watchers).
     * It competes with the branches' ffmpeg on the same cores; the direct side pays none.
     */
    const pipelineCpu = () => {
      const tree = treeCpuMs(runtime.pid);
      const bench = process.cpuUsage();
      return {
        runtime: tree.own,
        environments: tree.descendants,
        bench: (bench.user + bench.system) / 1000,
      };
    };
    const runPipeline = async (key: string) => {
      const cpuBefore = pipelineCpu();
      const started = performance.now();
      let finished = false;
      const put = await s3.send(
        new PutObjectCommand({ Bucket: out.UploadBucketName, Key: key, Body: body })
      );
      // Epoch ms: the runtime stamps its logs and history with Date.now() on this same clock.
      const putDoneAt = Date.now();
      const videoId = videoIdFor({
        bucket: out.UploadBucketName,
        key,
        versionId: put.VersionId,
        etag: put.ETag?.replaceAll('"', ''),
      });
      // VideoPlayable usually arrives before the manifest; the watcher keeps reading after it.
      const events = watchEvents(videoId, started, () => finished);
      let announced = false;
      void events.processed.then(() => {
        announced = true;
      });
      for (;;) {
        await Promise.race([events.processed, sleep(MANIFEST_POLL_MS)]);
        try {
          const res = await s3.send(
            new GetObjectCommand({ Bucket: out.OutputBucketName, Key: manifestKey(videoId) })
          );
          const manifestSeenAt = Date.now();
          const manifestMs = performance.now() - started;
          const manifest = ManifestSchema.parse(JSON.parse(await res.Body!.transformToString()));
          // Give a late VideoPlayable (published after the manifest) a moment before giving up.
          const grace = sleep(2000).then(() => {
            finished = true;
          });
          const playableMs = await events.playable;
          finished = true;
          await grace.catch(() => undefined);
          const byVideo = await logsOf({ videoId });
          // The REPORT lines (invocation durations) name the trace, not the video.
          const traces = [
            ...new Set(byVideo.map((r) => r.traceId).filter((t): t is string => !!t)),
          ];
          const byTrace = (await Promise.all(traces.map((traceId) => logsOf({ traceId })))).flat();
          const cpuAfter = pipelineCpu();
          const history = await historyOf(videoId);
          const hops = hopsOf({
            videoId,
            putDoneAt,
            manifestSeenAt,
            manifestCreatedAt: manifest.createdAt,
            history,
            logs: [...byVideo, ...byTrace],
          });
          return {
            videoId,
            ms: manifestMs,
            playableMs,
            status: manifest.status,
            hops,
            phases: await phasesFor(videoId),
            cpuMs: {
              runtime: ms(cpuAfter.runtime - cpuBefore.runtime),
              environments: ms(cpuAfter.environments - cpuBefore.environments),
              bench: ms(cpuAfter.bench - cpuBefore.bench),
            },
            stateMs: branchStateTimes(history),
          };
        } catch (err) {
          if (err instanceof Error && err.name === 'ZodError') throw err;
          // Announced but not readable yet (never expected: the manifest is written first).
          if (announced) await sleep(20);
        }
      }
    };

    return { runtime, s3, out, runPipeline };
  };

  let pipeline: Awaited<ReturnType<typeof openPipeline>> | undefined;
  try {
    // The first upload of a runtime pays process start-up (Lambda cold starts): one sample
    // of it swung by 10% between runs, so it is repeated, each time on a fresh runtime
    // (new processes; the compile cache on disk stays, as it does for `npm run local`).
    const colds: Awaited<ReturnType<Awaited<ReturnType<typeof openPipeline>>['runPipeline']>>[] =
      [];
    for (let i = 0; i < coldRepeats; i++) {
      await pipeline?.runtime.stop();
      pipeline = undefined;
      pipeline = await openPipeline();
      colds.push(await pipeline.runPipeline('uploads/bench-cold.mp4'));
    }
    const { s3, out, runPipeline } = pipeline!;
    // The cold run whose time is the median (the lower middle of an even count) speaks for
    // the cold side in the hop and branch tables.
    const coldByMs = [...colds].sort((x, y) => x.ms - y.ms);
    const cold = coldByMs[Math.floor((coldByMs.length - 1) / 2)]!;
    const coldMs = colds.map((c) => c.ms);
    // The direct side again, reading the clip over HTTP from the runtime's S3 (the output
    // bucket, where a PUT starts nothing) as the branch functions do: separates the HTTP
    // read of the source from the rest of the pipeline.
    const httpKey = 'bench-direct-http/source.mp4';
    await s3.send(new PutObjectCommand({ Bucket: out.OutputBucketName, Key: httpKey, Body: body }));
    const httpUrl = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: out.OutputBucketName, Key: httpKey }),
      { expiresIn: 3600 }
    );
    const direct: Awaited<ReturnType<typeof runDirect>>[] = [];
    const directHttp: Awaited<ReturnType<typeof runDirect>>[] = [];
    const warm: Awaited<ReturnType<typeof runPipeline>>[] = [];
    for (let i = 0; i < repeats; i++) {
      direct.push(await runDirect());
      directHttp.push(await runDirect(httpUrl));
      warm.push(await runPipeline(`uploads/bench-warm-${i}.mp4`));
    }
    const directMs = direct.map((d) => d.criticalMs);
    const warmMs = warm.map((w) => w.ms);
    const ratios = pairRatios(directMs, warmMs);
    const directMedian = spreadOf(directMs).median;
    const playable = warm.map((w) => w.playableMs).filter((p): p is number => p !== null);
    const hopSpread = hopSpreads(warm.map((w) => w.hops));
    // Pair i: the direct run just before pipeline run i, branch by branch.
    const splits = warm.map((w, i) => {
      const ids = new Set([...Object.keys(direct[i]!.perBranch), ...Object.keys(w.phases)]);
      const split: Record<string, BranchSplit> = {};
      for (const id of ids) {
        const d = direct[i]!.perBranch[id];
        const h = directHttp[i]!.perBranch[id];
        split[id] = {
          directRunMs: d ? ms(d.runMs) : null,
          directToolMs: d ? ms(d.toolMs) : null,
          directHttpRunMs: h ? ms(h.runMs) : null,
          phases: w.phases[id] ?? null,
          stateMs: w.stateMs[id] ?? null,
        };
      }
      return split;
    });
    return {
      clip: `${seconds}s 1280x720 H.264/AAC`,
      branches: plan.branches.length,
      repeats,
      coldRepeats,
      statuses: [...colds.map((c) => c.status), ...warm.map((w) => w.status)],
      manifestPollMs: MANIFEST_POLL_MS,
      direct: {
        perBranchAloneMs: Object.fromEntries(Object.entries(alone).map(([k, v]) => [k, ms(v)])),
        slowestBranchAloneMs: ms(slowest),
        runs: direct.map((d) => ({
          probeMs: ms(d.probeMs),
          branchesInParallelMs: ms(d.parallelMs),
          criticalPathMs: ms(d.criticalMs),
        })),
        criticalPathMs: roundSpread(spreadOf(directMs)),
        overHttpCriticalPathMs: roundSpread(spreadOf(directHttp.map((d) => d.criticalMs))),
      },
      pipeline: {
        coldMs: roundSpread(spreadOf(coldMs)),
        coldRuns: colds.map((c) => ({
          videoId: c.videoId,
          ms: ms(c.ms),
          playableMs: c.playableMs === null ? null : ms(c.playableMs),
          hops: c.hops,
          cpuMs: c.cpuMs,
        })),
        /** The median cold run's: its playable time, hops and branch split. */
        coldPlayableMs: cold.playableMs === null ? null : ms(cold.playableMs),
        coldHops: cold.hops,
        warmMs: roundSpread(spreadOf(warmMs)),
        // Runs with no VideoPlayable (e.g. the primary rendition failed) are left out.
        warmPlayableMs: playable.length === 0 ? null : roundSpread(spreadOf(playable)),
        warmRuns: warm.map((w, i) => ({
          videoId: w.videoId,
          ms: ms(w.ms),
          playableMs: w.playableMs === null ? null : ms(w.playableMs),
          hops: w.hops,
          cpuMs: w.cpuMs,
          branchSplit: splits[i],
        })),
        coldCpuMs: cold.cpuMs,
        /** Upload → manifest seen, per warm run: see pipelineCpu. */
        warmCpuMs: {
          runtime: roundSpread(spreadOf(warm.map((w) => w.cpuMs.runtime))),
          environments: roundSpread(spreadOf(warm.map((w) => w.cpuMs.environments))),
          bench: roundSpread(spreadOf(warm.map((w) => w.cpuMs.bench))),
        },
        coldBranchSplit: Object.fromEntries(
          Object.entries(cold.phases).map(([id, phases]) => [
            id,
            { phases, stateMs: cold.stateMs[id] ?? null },
          ])
        ),
      },
      ratios: {
        warmPerPair: ratios.map(ratio),
        warm: (({ n, median, min, max }) => ({
          n,
          median: ratio(median),
          min: ratio(min),
          max: ratio(max),
        }))(spreadOf(ratios)),
        coldPerRun: coldMs.map((c) => ratio(c / directMedian)),
        cold: ratio(spreadOf(coldMs).median / directMedian),
        warmVsIdeal: ratio(
          spreadOf(warmMs).median / (spreadOf(direct.map((d) => d.probeMs)).median + slowest)
        ),
        targets: { warmMedian: TARGET_WARM_RATIO, cold: TARGET_COLD_RATIO },
      },
      hops: Object.fromEntries(
        Object.entries(hopSpread).map(([k, v]) => [k, v === null ? null : roundSpread(v)])
      ),
      /** Per branch and field, the median over the warm pairs (bench/end-to-end-stats.ts). */
      branchSplit: splitMedians(splits),
    };
  } finally {
    await pipeline?.runtime.stop();
    rmSync(work, { recursive: true, force: true });
  }
};

type EndToEnd = Awaited<ReturnType<typeof benchEndToEnd>>;

const spreadText = (s: { median: number; min: number; max: number } | null, unit = ' ms') =>
  s === null ? 'none' : `${s.median}${unit} (${s.min} – ${s.max})`;

export const printEndToEnd = (a: EndToEnd) => {
  const table = new Table({
    head: [
      `(a) end to end, ${a.coldRepeats} cold runs, ${a.repeats} interleaved pairs`,
      'median (min – max)',
    ],
  });
  const ok = (value: number, target: number) => (value <= target ? 'ok' : 'OVER');
  table.push(
    ['clip', a.clip],
    ['branches / statuses', `${a.branches} / ${a.statuses.join(', ')}`],
    ['direct: slowest branch alone', `${a.direct.slowestBranchAloneMs} ms`],
    ['direct critical path (probe + parallel branches)', spreadText(a.direct.criticalPathMs)],
    [
      'direct critical path, source over HTTP (runtime S3)',
      spreadText(a.direct.overHttpCriticalPathMs),
    ],
    ['pipeline, cold (first upload of a fresh runtime)', spreadText(a.pipeline.coldMs)],
    ['pipeline, warm upload → manifest', spreadText(a.pipeline.warmMs)],
    ['upload → VideoPlayable, the median cold run', `${a.pipeline.coldPlayableMs ?? 'none'} ms`],
    ['upload → VideoPlayable, warm', spreadText(a.pipeline.warmPlayableMs)],
    ['warm ratio per pair (pipeline_i / direct_i)', a.ratios.warmPerPair.join(', ')],
    [
      `warm ratio (target ≤ ${a.ratios.targets.warmMedian})`,
      `${spreadText(a.ratios.warm, '')} ${ok(a.ratios.warm.median, a.ratios.targets.warmMedian)}`,
    ],
    [
      `cold ratio: median cold ÷ median direct (target ≤ ${a.ratios.targets.cold})`,
      `${a.ratios.cold} (per run ${a.ratios.coldPerRun.join(', ')}) ${ok(a.ratios.cold, a.ratios.targets.cold)}`,
    ],
    ['warm median ÷ (probe + slowest branch alone)', String(a.ratios.warmVsIdeal)],
    [
      "pipeline's own CPU per warm run: runtime / Lambda envs / bench",
      `${spreadText(a.pipeline.warmCpuMs.runtime)} / ${spreadText(a.pipeline.warmCpuMs.environments)} / ${spreadText(a.pipeline.warmCpuMs.bench)}`,
    ],
    [
      "pipeline's own CPU, the median cold run: runtime / Lambda envs / bench",
      `${a.pipeline.coldCpuMs.runtime} / ${a.pipeline.coldCpuMs.environments} / ${a.pipeline.coldCpuMs.bench} ms`,
    ]
  );
  console.log(table.toString());
  const cold = a.pipeline.coldHops as Hops;
  const hops = new Table({
    head: ['(a) warm pipeline hop', 'median ms', 'min', 'max', 'runs', 'median cold run ms'],
  });
  const coldOf = (label: string) => {
    const v = label === AGGREGATE_TASK_LABEL ? cold.aggregateTaskMs : cold.hops[label];
    return v === null || v === undefined ? 'unknown' : ms(v);
  };
  for (const label of [...HOP_LABELS, AGGREGATE_TASK_LABEL]) {
    const s = a.hops[label];
    hops.push([
      label,
      ...(s ? [s.median, s.min, s.max, s.n] : ['unknown', '', '', 0]),
      coldOf(label),
    ]);
  }
  hops.push([
    'total: upload PUT done → manifest seen',
    ...(({ median, min, max, n }) => [median, min, max, n])(
      roundSpread(spreadOf(a.pipeline.warmRuns.map((w) => w.hops.totalMs)))
    ),
    ms(cold.totalMs),
  ]);
  console.log(hops.toString());
  const split = new Table({
    head: [
      '(a) per branch, warm median',
      'direct run',
      'direct HTTP',
      'pipe run',
      'pipe tools',
      'uploads (n, KiB)',
      'upload',
      'record',
      'playlist',
      'other',
      'handler',
      'state',
      'outside',
    ],
  });
  const cell = (v: number | null | undefined) => (v === null || v === undefined ? '-' : ms(v));
  for (const [id, f] of Object.entries(a.branchSplit)) {
    split.push([
      id,
      cell(f.directRunMs),
      cell(f.directHttpRunMs),
      `${cell(f.runMs)} (${f.directRunMs !== null && f.runMs !== null ? `${f.runMs - f.directRunMs >= 0 ? '+' : ''}${ms(f.runMs - f.directRunMs)}` : '-'})`,
      cell(f.toolMs),
      `${cell(f.uploads)}, ${f.uploadBytes === null ? '-' : ms(f.uploadBytes / 1024)}`,
      cell(f.uploadMs),
      cell(f.recordMs),
      cell(f.playlistMs),
      cell(f.otherMs),
      cell(f.totalMs),
      cell(f.stateMs),
      cell(f.outsideHandlerMs),
    ]);
  }
  console.log(split.toString());
  console.log(
    'ms unless said; direct run: the kind on the local file (all branches side by side); direct HTTP: ' +
      "the same over a presigned URL of the runtime's S3; pipe run: the same kind over the presigned URL in its Lambda; tools: ffmpeg/ffprobe wall time inside run; other: the handler's time outside its timed phases; handler: the branch's " +
      'whole invocation work; state: task entered → exited; outside: state − handler (dispatch, IPC, return). ' +
      `Fields: ${SPLIT_FIELDS.join(', ')}.`
  );
};
