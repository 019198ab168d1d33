import type { CostProfile } from '../contract/index.js';
import { estimateCost, type Invocation, type Usage } from '../lambdas/aggregate/cost.js';
import { PRICES } from '../lambdas/aggregate/prices.js';

/**
 * The AWS model of one long video in ONE wave (issue #20 item 1): thumbnails,
 * metadata, the audio item and every segment of every rung start together,
 * bounded by the Segments Distributed Map's MaxConcurrency; each rung joins
 * (stream copy + HLS packaging) as soon as its segments and the audio exist;
 * the aggregator writes the manifest after the last branch. Pure: the bench
 * feeds it what it measured, the unit test what it worked out by hand.
 * Every figure it does not compute is an input, printed with its source.
 */

/** What one rung costs, measured here: one segment item's CPU and output per source second. */
export interface RungRate {
  readonly height: number;
  /** Child CPU seconds (this machine's cores) per source second, one segment item's whole work. */
  readonly cpuPerSourceSec: number;
  /** Encoded video bytes per source second. */
  readonly bytesPerSourceSec: number;
}

/**
 * How the audio is encoded: `parts` is what the plan writes (one audio part
 * per segment length, joined gaplessly by stream copy by the part that
 * completes the set, docs/segments.md); `one-item` is the layout before it
 * (the whole track on one thread), kept to show what the parts buy.
 */
export type AudioLayout = 'one-item' | 'parts';

export interface WaveModelInputs {
  readonly sourceSec: number;
  readonly rungs: readonly RungRate[];
  /** The audio's CPU per source second (AAC encode; with `one-item` also its HLS packaging). */
  readonly audioCpuPerSourceSec: number;
  readonly audioBytesPerSourceSec: number;
  /**
   * The audio join's CPU per source second (parts): stream copy of the parts and the HLS
   * audio packaging, measured as such. A stream copy costs per packet, and AAC's 47 packets
   * a second of ~340 bytes cost far more per byte than the video's, so the video join's
   * rate would undercount it.
   */
  readonly audioJoinCpuPerSourceSec: number;
  /**
   * A join's CPU seconds per byte it writes (copy-mux + HLS packaging), measured at one rung:
   * the slope between a join of half the segments and one of all of them.
   */
  readonly joinCpuPerByte: number;
  /**
   * A join's CPU seconds whatever its size (ffmpeg and ffprobe starts, the concat list, the
   * HLS playlist): the same fit's intercept. Left out, a short clip's join (mostly this) scaled
   * by bytes to an hour made the join ten times too slow.
   */
  readonly joinCpuFixedSec: number;
  /** One thumbnail branch's wall time on Lambda, warm (seconds). */
  readonly thumbnailSec: number;
  readonly thumbnails: number;
  readonly metadataSec: number;
  /** Source seconds per segment (the plan's segmentLength). */
  readonly segmentSec: number;
  /** The Segments Distributed Map's MaxConcurrency. */
  readonly concurrency: number;
  /** Memory of the segment and rendition functions (MB as Lambda counts them). */
  readonly memoryMiB: number;
  /** One Lambda vCPU's speed relative to one core of the measuring machine. */
  readonly lambdaCoreSpeed: number;
  /** Added to the first invocation of each execution environment. */
  readonly coldStartSec: number;
  /** Time to the first byte of a ranged GET of the source. */
  readonly firstByteSec: number;
  /** One Lambda's S3 throughput, read or write (bytes/s). */
  readonly s3BytesPerSec: number;
  /** The upload's bit rate in bytes/s: an item streams its range of the source while it encodes. */
  readonly sourceBytesPerSec: number;
  /** Upload → the Map Run starts: S3 event, SNS, SQS, starter, StartExecution, Probe, Plan. */
  readonly startSec: number;
  readonly probeSec: number;
  readonly planSec: number;
  /** The aggregator, to the manifest write. */
  readonly aggregateSec: number;
  readonly audio: AudioLayout;
}

/**
 * vCPUs of a function: "At 1,769 MB, a function has the equivalent of one
 * vCPU", up to 6 vCPUs at 10,240 MB.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
 */
export const LAMBDA_MB_PER_VCPU = 1769;
export const LAMBDA_MAX_VCPUS = 6;
export const lambdaVcpus = (memoryMiB: number): number =>
  Math.min(LAMBDA_MAX_VCPUS, memoryMiB / LAMBDA_MB_PER_VCPU);

/** One Distributed Map item: which rung (or the audio), and its run time once started, warm. */
export interface WaveItem {
  readonly rung: number | 'audio';
  readonly sec: number;
}

/**
 * The items in the order the plan writes them (the audio first: it is the
 * longest; then each rung's segments, lowest rung first, so the lowest rung
 * is joined and playable first).
 */
export const waveItems = (m: WaveModelInputs): WaveItem[] => {
  const vcpu = lambdaVcpus(m.memoryMiB) * m.lambdaCoreSpeed;
  // The AAC encoder runs on one thread: a second vCPU does not speed it up.
  const audioVcpu = Math.min(1, lambdaVcpus(m.memoryMiB)) * m.lambdaCoreSpeed;
  const count = Math.ceil(m.sourceSec / m.segmentSec);
  // ffmpeg decodes while it reads its range of the source: the slower of the two decides.
  const item = (rung: number | 'audio', cpuSec: number, sourceSec: number): WaveItem => ({
    rung,
    sec: m.firstByteSec + Math.max(cpuSec, (m.sourceBytesPerSec * sourceSec) / m.s3BytesPerSec),
  });
  const audio: WaveItem[] =
    m.audio === 'one-item'
      ? [item('audio', (m.audioCpuPerSourceSec * m.sourceSec) / audioVcpu, m.sourceSec)]
      : // A part encodes its range plus a pre-roll of two AAC frames (≈ 43 ms at 48 kHz): not modelled.
        Array.from({ length: count }, () =>
          item('audio', (m.audioCpuPerSourceSec * m.segmentSec) / audioVcpu, m.segmentSec)
        );
  const video = m.rungs.flatMap((r, i) =>
    Array.from({ length: count }, () =>
      item(i, (r.cpuPerSourceSec * m.segmentSec) / vcpu, m.segmentSec)
    )
  );
  return [...audio, ...video];
};

/**
 * List scheduling on `slots` execution environments, as a Map Run starts items
 * in order whenever one of its MaxConcurrency slots frees: each item goes to
 * the slot that frees first; a slot's first item pays the cold start.
 */
export const schedule = (
  items: readonly WaveItem[],
  slots: number,
  coldStartSec: number
): { start: number; end: number; cold: boolean }[] => {
  const n = Math.max(1, Math.min(slots, items.length));
  // A binary min-heap of [free at, slot]: the slot that frees first, the lowest slot on a tie.
  const heap: [number, number][] = Array.from({ length: n }, (_, i) => [0, i]);
  const less = (a: [number, number], b: [number, number]) =>
    a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const down = (from: number) => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  const used = new Array<boolean>(n).fill(false);
  return items.map((item) => {
    const top = heap[0]!;
    const [start, slot] = top;
    const cold = !used[slot];
    used[slot] = true;
    const end = start + (cold ? coldStartSec : 0) + item.sec;
    heap[0] = [end, slot];
    down(0);
    return { start, end, cold };
  });
};

export interface RungJoin {
  readonly height: number;
  readonly segmentsDoneSec: number;
  readonly joinSec: number;
  readonly joinedSec: number;
}

export interface WaveModel {
  readonly vcpus: number;
  readonly segmentsPerRung: number;
  readonly items: number;
  /** The audio joined (parts: the last part's end plus the audio join it runs). */
  readonly audioDoneSec: number;
  /** The audio join (parts only): read the parts, copy them into one file, package the HLS audio. */
  readonly audioJoinSec: number;
  readonly joins: readonly RungJoin[];
  readonly thumbnailsDoneSec: number;
  /** Upload → manifest. */
  readonly totalSec: number;
  /** What decides totalSec: the slowest rung's segments, the audio, or a join. */
  readonly critical: string;
  readonly costUsd: number;
  readonly costPerSourceMinuteUsd: number;
  readonly lambdaGbSec: number;
  readonly stateTransitions: number;
  readonly lambdaRequests: number;
  readonly s3Puts: number;
  readonly s3Gets: number;
  readonly breakdown: ReturnType<typeof estimateCost>['costBreakdown'];
}

/** Memory and architecture as the stack synthesizes them (lib/stacks/video-pipeline-stack.ts, kinds/). */
export const stackCostProfile = (segmentMemoryMiB: number): CostProfile => ({
  probe: { memoryMiB: 1024, architecture: 'x86_64' },
  plan: { memoryMiB: 256, architecture: 'arm64' },
  aggregate: { memoryMiB: 512, architecture: 'arm64' },
  kinds: {
    thumbnail: { memoryMiB: 1024, architecture: 'x86_64' },
    metadata: { memoryMiB: 512, architecture: 'x86_64' },
    rendition: { memoryMiB: segmentMemoryMiB, architecture: 'x86_64' },
    'rendition-segment': { memoryMiB: segmentMemoryMiB, architecture: 'x86_64' },
  },
});

/** HLS media segment length of the audio playlist (lambdas/branch-kinds/hls.ts HLS_TARGET_SEC). */
const AUDIO_HLS_SEC = 6;

export const modelWave = (m: WaveModelInputs, prices = PRICES): WaveModel => {
  const items = waveItems(m);
  const runs = schedule(items, m.concurrency, m.coldStartSec);
  const count = Math.ceil(m.sourceSec / m.segmentSec);
  const doneOf = (rung: number | 'audio') =>
    Math.max(0, ...runs.filter((_, i) => items[i]?.rung === rung).map((r) => r.end));
  const audioBytes = m.audioBytesPerSourceSec * m.sourceSec;
  // Run by the part that completes the set, inside its own invocation (no cold start of its own):
  // read every part, copy them into one file and package its HLS copy (one thread each, one
  // after the other), write both.
  const audioJoinSec =
    m.audio === 'parts' && audioBytes > 0
      ? audioBytes / m.s3BytesPerSec +
        (m.audioJoinCpuPerSourceSec * m.sourceSec) / m.lambdaCoreSpeed +
        (2 * audioBytes) / m.s3BytesPerSec
      : 0;
  const partsDoneSec = doneOf('audio');
  const audioDoneSec = partsDoneSec + audioJoinSec;
  const lastAudio = runs.reduce(
    (last, r, i) =>
      items[i]?.rung === 'audio' && (last < 0 || r.end > (runs[last]?.end ?? 0)) ? i : last,
    -1
  );
  const joins = m.rungs.map((r, i): RungJoin => {
    const videoBytes = r.bytesPerSourceSec * m.sourceSec;
    // Reads the segments and the audio, writes the MP4 (video + audio) and the HLS copy (video).
    // With the audio in parts it starts once the parts are stored and reads them itself, beside
    // the audio join (the early join does not wait for it; one item joins the audio first).
    const read = (videoBytes + audioBytes) / m.s3BytesPerSec;
    const cpu =
      (m.joinCpuFixedSec + m.joinCpuPerByte * (videoBytes + audioBytes)) / m.lambdaCoreSpeed;
    const write = (2 * videoBytes + audioBytes) / m.s3BytesPerSec;
    const joinSec = m.coldStartSec + read + cpu + write;
    const segmentsDoneSec = doneOf(i);
    return {
      height: r.height,
      segmentsDoneSec,
      joinSec,
      joinedSec:
        Math.max(segmentsDoneSec, m.audio === 'parts' ? partsDoneSec : audioDoneSec) + joinSec,
    };
  });
  const thumbnailsDoneSec = m.coldStartSec + Math.max(m.thumbnailSec, m.metadataSec);
  const lastJoin = joins.reduce<RungJoin | undefined>(
    (a, j) => (a && a.joinedSec >= j.joinedSec ? a : j),
    undefined
  );
  const waveSec = Math.max(thumbnailsDoneSec, lastJoin?.joinedSec ?? 0, audioDoneSec);
  const critical =
    waveSec === thumbnailsDoneSec
      ? 'thumbnails'
      : waveSec === audioDoneSec && m.audio === 'parts'
        ? 'the audio parts, then the audio join'
        : lastJoin &&
            waveSec === lastJoin.joinedSec &&
            (m.audio === 'parts' ? partsDoneSec : audioDoneSec) > lastJoin.segmentsDoneSec
          ? `audio (${m.audio}), then the ${lastJoin.height}p join`
          : `${lastJoin?.height}p segments, then its join`;

  // Cost: each invocation billed for its run time, its cold start included (Lambda bills
  // the INIT phase of on-demand functions since 2025-08-01:
  // https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
  const ms = (sec: number) => sec * 1000;
  const invocations: Invocation[] = [
    { function: 'probe', durationMs: ms(m.probeSec) },
    { function: 'plan', durationMs: ms(m.planSec) },
    // The audio join runs inside the invocation of the part that ends last: billed there.
    ...runs.map((r, i) => ({
      function: 'rendition-segment',
      durationMs: ms(r.end - r.start + (i === lastAudio ? audioJoinSec : 0)),
    })),
    ...joins.map((j) => ({ function: 'rendition', durationMs: ms(j.joinSec) })),
    ...Array.from({ length: m.thumbnails }, () => ({
      function: 'thumbnail',
      durationMs: ms(m.coldStartSec + m.thumbnailSec),
    })),
    { function: 'metadata', durationMs: ms(m.coldStartSec + m.metadataSec) },
    { function: 'aggregate', durationMs: ms(m.aggregateSec) },
  ];
  const branches = m.rungs.length + m.thumbnails + 1;
  // The path README "Cost per video" counts: ApplyPolicy, Probe, Plan, SegmentsNeeded, the
  // Segments map and one Run state per item's child execution, FanOut, RouteBranch + Run per
  // branch, then Aggregate, Decide, Done.
  const stateTransitions = 3 + 1 + (1 + items.length) + 1 + 2 * branches + 3;
  const audioHlsSegments = Math.ceil(m.sourceSec / AUDIO_HLS_SEC);
  const audioItems = items.length - m.rungs.length * count;
  const parts = m.audio === 'parts';
  // PUTs, one per object (multipart parts of the large joined MP4s not counted): the upload; a
  // segment item's segment and record; the audio: its file(s) (parts: each part and its record,
  // then the joined file), the HLS audio segments, init, playlist, package record and the audio
  // record; a join: the MP4, one HLS segment per encoded segment, init, playlist, package
  // record, branch record; thumbnails and metadata: file + record; the multivariant playlist,
  // manifest, audit record and pointer.
  const s3Puts =
    1 +
    2 * m.rungs.length * count +
    audioItems +
    (parts ? audioItems + 1 : 0) +
    audioHlsSegments +
    4 +
    m.rungs.length * (count + 5) +
    2 * (m.thumbnails + 1) +
    4;
  // GETs: each item one ranged read of the source (at least), a join every segment and the
  // joined audio file, the audio join (parts) every part, thumbnails, metadata and the probe
  // one each, the aggregator every branch record.
  const s3Gets =
    items.length +
    m.rungs.length * (count + 1) +
    (parts ? audioItems : 0) +
    m.thumbnails +
    2 +
    branches;
  const usage: Usage = {
    invocations,
    stateTransitions,
    sqsRequests: 6,
    snsPublishes: 3,
    s3Puts,
    s3Gets,
  };
  const { estimatedCostUsd, costBreakdown } = estimateCost(
    usage,
    stackCostProfile(m.memoryMiB),
    prices
  );
  return {
    vcpus: lambdaVcpus(m.memoryMiB),
    segmentsPerRung: count,
    items: items.length,
    audioDoneSec,
    audioJoinSec,
    joins,
    thumbnailsDoneSec,
    totalSec: m.startSec + waveSec + m.aggregateSec,
    critical,
    costUsd: estimatedCostUsd,
    costPerSourceMinuteUsd: estimatedCostUsd / (m.sourceSec / 60),
    lambdaGbSec: costBreakdown.lambda.reduce((s, l) => s + l.gbSeconds, 0),
    stateTransitions,
    lambdaRequests: invocations.length,
    s3Puts,
    s3Gets,
    breakdown: costBreakdown,
  };
};

/**
 * Today's path for a short upload (under the segment threshold): one single-run
 * rendition branch per rung, thumbnails and metadata, in the FanOut. Priced
 * with the same model, per minute of source, to compare with the wave's.
 */
export const modelSingleRun = (
  m: WaveModelInputs,
  singleCpuPerSourceSec: readonly number[],
  sourceSec = 60,
  prices = PRICES,
  /** The rendition function's memory (a single run runs there, not on the segment function). */
  renditionMemoryMiB = m.memoryMiB
): { costUsd: number; costPerSourceMinuteUsd: number; totalSec: number } => {
  const vcpu = lambdaVcpus(renditionMemoryMiB) * m.lambdaCoreSpeed;
  const renditionSec = singleCpuPerSourceSec.map(
    (c) => m.coldStartSec + m.firstByteSec + (c * sourceSec) / vcpu
  );
  const ms = (sec: number) => sec * 1000;
  const branches = renditionSec.length + m.thumbnails + 1;
  const usage: Usage = {
    invocations: [
      { function: 'probe', durationMs: ms(m.probeSec) },
      { function: 'plan', durationMs: ms(m.planSec) },
      ...renditionSec.map((s) => ({ function: 'rendition', durationMs: ms(s) })),
      ...Array.from({ length: m.thumbnails }, () => ({
        function: 'thumbnail',
        durationMs: ms(m.coldStartSec + m.thumbnailSec),
      })),
      { function: 'metadata', durationMs: ms(m.coldStartSec + m.metadataSec) },
      { function: 'aggregate', durationMs: ms(m.aggregateSec) },
    ],
    // ApplyPolicy, Probe, Plan, SegmentsNeeded, FanOut, RouteBranch + Run per branch, Aggregate, Decide, Done.
    stateTransitions: 3 + 1 + 1 + 2 * branches + 3,
    sqsRequests: 6,
    snsPublishes: 3,
    // Upload; per rendition MP4, HLS (segments of 6 s, init, playlist, package record), record;
    // thumbnails and metadata file + record; multivariant, manifest, audit, pointer.
    s3Puts:
      1 +
      renditionSec.length * (1 + Math.ceil(sourceSec / AUDIO_HLS_SEC) + 3 + 1) +
      2 * (m.thumbnails + 1) +
      4,
    s3Gets: renditionSec.length + m.thumbnails + 2 + branches,
  };
  const { estimatedCostUsd } = estimateCost(usage, stackCostProfile(renditionMemoryMiB), prices);
  return {
    costUsd: estimatedCostUsd,
    costPerSourceMinuteUsd: estimatedCostUsd / (sourceSec / 60),
    totalSec:
      m.startSec + Math.max(...renditionSec, m.coldStartSec + m.thumbnailSec) + m.aggregateSec,
  };
};

export interface Setting {
  readonly memoryMiB: number;
  readonly segmentSec: number;
  readonly concurrency: number;
  readonly audio: AudioLayout;
}

/** Memory sizes to try: the current 2,048 MB up to Lambda's 10,240 MB maximum. */
export const MEMORY_CHOICES = [2048, 3008, 4096, 6144, 8192, 10240] as const;
/** Segment lengths, whole 2 s GOPs (the plan rounds up to them). */
export const SEGMENT_CHOICES = [30, 20, 16, 12, 10, 8, 6, 4, 2] as const;
export const CONCURRENCY_CHOICES = [100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000] as const;

/**
 * The cheapest setting whose modelled upload → manifest is within `targetSec`
 * (ties: the lower concurrency), for each audio layout, or null when none in
 * the grid is. The grid is the knobs the stack has (memory of the segment
 * function, segmentLength, segmentConcurrency), for either audio layout.
 */
export const cheapestSetting = (
  m: WaveModelInputs,
  targetSec: number,
  audio: AudioLayout
): { setting: Setting; model: WaveModel } | null => {
  let best: { setting: Setting; model: WaveModel } | null = null;
  for (const memoryMiB of MEMORY_CHOICES) {
    for (const segmentSec of SEGMENT_CHOICES) {
      for (const concurrency of CONCURRENCY_CHOICES) {
        const setting = { memoryMiB, segmentSec, concurrency, audio };
        const model = modelWave({ ...m, ...setting });
        if (model.totalSec > targetSec) continue;
        if (
          !best ||
          model.costUsd < best.model.costUsd ||
          (model.costUsd === best.model.costUsd && concurrency < best.setting.concurrency)
        ) {
          best = { setting, model };
        }
      }
    }
  }
  return best;
};
