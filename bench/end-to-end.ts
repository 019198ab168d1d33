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
import Table from 'cli-table3';
import { ManifestSchema, manifestKey, videoIdFor } from '../contract/index.js';
import { makeClip, useMediaTools } from '../fixtures/media.js';
import { DEFAULT_PLAN_CONFIG, kindOf, planBranches } from '../lambdas/branch-kinds/index.js';
import { probeFile } from '../lambdas/probe/logic.js';
import { ROOT as root } from '../local-runtime/src/index.js';
import {
  AGGREGATE_TASK_LABEL,
  HOP_LABELS,
  type Hops,
  hopSpreads,
  hopsOf,
  type LogRecordLike,
  pairRatios,
  type Spread,
  spreadOf,
} from './end-to-end-stats.js';
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
/** The manifest poll's interval: its delay is part of every pipeline figure (hop "seen by the poll"). */
const MANIFEST_POLL_MS = 20;

export const TARGET_WARM_RATIO = 1.05;
export const TARGET_COLD_RATIO = 1.2;

export const benchEndToEnd = async (seconds: number, repeats: number) => {
  if (!(Number.isInteger(repeats) && repeats >= 1)) {
    throw new Error(`--repeats must be a whole number ≥ 1, got ${repeats}`);
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
  const runBranch = (branch: (typeof plan.branches)[number]) =>
    kindOf(branch).run(branch, {
      videoId: 'bench',
      source,
      probe,
      input: clip,
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
  const runDirect = async () => {
    const { probeMs } = await probeOnce();
    const t = performance.now();
    await Promise.all(plan.branches.map(runBranch));
    const parallelMs = performance.now() - t;
    return { probeMs, parallelMs, criticalMs: probeMs + parallelMs };
  };

  // Pipeline: upload → manifest through the local runtime, same template and bundles as AWS.
  const runtime = await startBenchRuntime(join(root, 'cdk.out'));
  try {
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
    const watchPlayable = (videoId: string, started: number, done: () => boolean) =>
      (async () => {
        while (!done()) {
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
            if (
              msg.videoId === videoId &&
              m.MessageAttributes?.type?.StringValue === 'VideoPlayable'
            ) {
              return received - started;
            }
          }
        }
        return null;
      })();
    const logsOf = async (query: Record<string, string>): Promise<LogRecordLike[]> => {
      const url = new URL('/_local/logs', runtime.endpoint);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
      return ((await res.json()) as { records: LogRecordLike[] }).records;
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
    const runPipeline = async (key: string) => {
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
      const playable = watchPlayable(videoId, started, () => finished);
      for (;;) {
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
          const playableMs = await playable;
          finished = true;
          await grace.catch(() => undefined);
          const byVideo = await logsOf({ videoId });
          // The REPORT lines (invocation durations) name the trace, not the video.
          const traces = [
            ...new Set(byVideo.map((r) => r.traceId).filter((t): t is string => !!t)),
          ];
          const byTrace = (await Promise.all(traces.map((traceId) => logsOf({ traceId })))).flat();
          const hops = hopsOf({
            videoId,
            putDoneAt,
            manifestSeenAt,
            manifestCreatedAt: manifest.createdAt,
            history: await historyOf(videoId),
            logs: [...byVideo, ...byTrace],
          });
          return { videoId, ms: manifestMs, playableMs, status: manifest.status, hops };
        } catch (err) {
          if (err instanceof Error && err.name === 'ZodError') throw err;
          await sleep(MANIFEST_POLL_MS);
        }
      }
    };

    // The first run pays process start-up (Lambda cold starts): reported on its own.
    const cold = await runPipeline('uploads/bench-cold.mp4');
    const direct: Awaited<ReturnType<typeof runDirect>>[] = [];
    const warm: Awaited<ReturnType<typeof runPipeline>>[] = [];
    for (let i = 0; i < repeats; i++) {
      direct.push(await runDirect());
      warm.push(await runPipeline(`uploads/bench-warm-${i}.mp4`));
    }
    const directMs = direct.map((d) => d.criticalMs);
    const warmMs = warm.map((w) => w.ms);
    const ratios = pairRatios(directMs, warmMs);
    const directMedian = spreadOf(directMs).median;
    const playable = warm.map((w) => w.playableMs).filter((p): p is number => p !== null);
    const hopSpread = hopSpreads(warm.map((w) => w.hops));
    return {
      clip: `${seconds}s 1280x720 H.264/AAC`,
      branches: plan.branches.length,
      repeats,
      statuses: [cold.status, ...warm.map((w) => w.status)],
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
      },
      pipeline: {
        coldMs: ms(cold.ms),
        coldPlayableMs: cold.playableMs === null ? null : ms(cold.playableMs),
        coldHops: cold.hops,
        warmMs: roundSpread(spreadOf(warmMs)),
        // Runs with no VideoPlayable (e.g. the primary rendition failed) are left out.
        warmPlayableMs: playable.length === 0 ? null : roundSpread(spreadOf(playable)),
        warmRuns: warm.map((w) => ({
          videoId: w.videoId,
          ms: ms(w.ms),
          playableMs: w.playableMs === null ? null : ms(w.playableMs),
          hops: w.hops,
        })),
      },
      ratios: {
        warmPerPair: ratios.map(ratio),
        warm: (({ n, median, min, max }) => ({
          n,
          median: ratio(median),
          min: ratio(min),
          max: ratio(max),
        }))(spreadOf(ratios)),
        cold: ratio(cold.ms / directMedian),
        warmVsIdeal: ratio(
          spreadOf(warmMs).median / (spreadOf(direct.map((d) => d.probeMs)).median + slowest)
        ),
        targets: { warmMedian: TARGET_WARM_RATIO, cold: TARGET_COLD_RATIO },
      },
      hops: Object.fromEntries(
        Object.entries(hopSpread).map(([k, v]) => [k, v === null ? null : roundSpread(v)])
      ),
    };
  } finally {
    await runtime.stop();
    rmSync(work, { recursive: true, force: true });
  }
};

type EndToEnd = Awaited<ReturnType<typeof benchEndToEnd>>;

const spreadText = (s: { median: number; min: number; max: number } | null, unit = ' ms') =>
  s === null ? 'none' : `${s.median}${unit} (${s.min} – ${s.max})`;

export const printEndToEnd = (a: EndToEnd) => {
  const table = new Table({
    head: [`(a) end to end, ${a.repeats} interleaved pairs`, 'median (min – max)'],
  });
  const ok = (value: number, target: number) => (value <= target ? 'ok' : 'OVER');
  table.push(
    ['clip', a.clip],
    ['branches / statuses', `${a.branches} / ${a.statuses.join(', ')}`],
    ['direct: slowest branch alone', `${a.direct.slowestBranchAloneMs} ms`],
    ['direct critical path (probe + parallel branches)', spreadText(a.direct.criticalPathMs)],
    ['pipeline, cold (first upload)', `${a.pipeline.coldMs} ms`],
    ['pipeline, warm upload → manifest', spreadText(a.pipeline.warmMs)],
    ['upload → VideoPlayable, cold', `${a.pipeline.coldPlayableMs ?? 'none'} ms`],
    ['upload → VideoPlayable, warm', spreadText(a.pipeline.warmPlayableMs)],
    ['warm ratio per pair (pipeline_i / direct_i)', a.ratios.warmPerPair.join(', ')],
    [
      `warm ratio (target ≤ ${a.ratios.targets.warmMedian})`,
      `${spreadText(a.ratios.warm, '')} ${ok(a.ratios.warm.median, a.ratios.targets.warmMedian)}`,
    ],
    [
      `cold ratio: cold ÷ median direct (target ≤ ${a.ratios.targets.cold})`,
      `${a.ratios.cold} ${ok(a.ratios.cold, a.ratios.targets.cold)}`,
    ],
    ['warm median ÷ (probe + slowest branch alone)', String(a.ratios.warmVsIdeal)]
  );
  console.log(table.toString());
  const cold = a.pipeline.coldHops as Hops;
  const hops = new Table({
    head: ['(a) warm pipeline hop', 'median ms', 'min', 'max', 'runs', 'cold run ms'],
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
};
