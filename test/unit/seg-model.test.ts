import { describe, expect, it } from 'vitest';
import { childCpuFromStat } from '../../bench/child-cpu.js';
import {
  cheapestSetting,
  lambdaVcpus,
  modelWave,
  schedule,
  type WaveModelInputs,
  waveItems,
} from '../../bench/seg-model.js';
import { joinFit } from '../../bench/segments.js';

/**
 * The seg bench's AWS model, checked against figures worked out by hand for a
 * small case (the arithmetic is in the comments): 60 s of source in 30 s
 * segments, two rungs, 2 slots, 1,769 MB (exactly one vCPU).
 */
const SMALL: WaveModelInputs = {
  sourceSec: 60,
  rungs: [
    { height: 360, cpuPerSourceSec: 0.5, bytesPerSourceSec: 100_000 },
    { height: 720, cpuPerSourceSec: 1.0, bytesPerSourceSec: 300_000 },
  ],
  audioCpuPerSourceSec: 0.05,
  audioBytesPerSourceSec: 16_000,
  audioJoinCpuPerSourceSec: 0.00016,
  joinCpuPerByte: 1e-8,
  joinCpuFixedSec: 0,
  thumbnailSec: 2,
  thumbnails: 3,
  metadataSec: 1,
  segmentSec: 30,
  concurrency: 2,
  memoryMiB: 1769,
  lambdaCoreSpeed: 1,
  coldStartSec: 1,
  firstByteSec: 0.5,
  s3BytesPerSec: 10_000_000,
  // 200 kB/s: a segment's 6 MB read takes 0.6 s, under its encode; the audio's 12 MB 1.2 s, under 3 s.
  sourceBytesPerSec: 200_000,
  startSec: 3,
  probeSec: 1,
  planSec: 0.5,
  aggregateSec: 1,
  audio: 'one-item',
};

describe('lambdaVcpus (1,769 MB per vCPU, at most 6)', () => {
  it.each([
    [1769, 1],
    [3538, 2],
    [884.5, 0.5],
    [20_000, 6],
  ])('%d MB → %d vCPU', (memory, vcpus) => {
    expect(lambdaVcpus(memory)).toBeCloseTo(vcpus, 12);
  });
});

describe('schedule', () => {
  it('starts each item on the slot that frees first, a cold start on each slot once', () => {
    // slot 0: item 0, 0 → 0.5 + 3 = 3.5; slot 1: item 1, 0 → 0.5 + 1 = 1.5, then item 2
    // 1.5 → 2.5 (warm), then item 3 2.5 → 3.5 (slot 1 frees at 2.5, before slot 0's 3.5).
    const runs = schedule(
      [3, 1, 1, 1].map((sec) => ({ rung: 0, sec })),
      2,
      0.5
    );
    expect(runs).toEqual([
      { start: 0, end: 3.5, cold: true },
      { start: 0, end: 1.5, cold: true },
      { start: 1.5, end: 2.5, cold: false },
      { start: 2.5, end: 3.5, cold: false },
    ]);
  });
});

describe('modelWave', () => {
  it('items: the audio (0.5 + 0.05 × 60 = 3.5 s), then 2 segments per rung (0.5 + rate × 30)', () => {
    expect(waveItems(SMALL)).toEqual([
      { rung: 'audio', sec: 3.5 },
      { rung: 0, sec: 15.5 },
      { rung: 0, sec: 15.5 },
      { rung: 1, sec: 30.5 },
      { rung: 1, sec: 30.5 },
    ]);
    // Per segment, the audio is 2 items of 0.5 + 0.05 × 30 = 2 s.
    // At 6 MB/s of source the reads decide where they are slower: the audio streams 360 MB at
    // 10 MB/s (0.5 + 36 s), a 360p segment 180 MB (0.5 + 18 s, over its 15 s encode); the 720p
    // encode's 30 s still decides its segments.
    expect(waveItems({ ...SMALL, sourceBytesPerSec: 6_000_000 })).toEqual([
      { rung: 'audio', sec: 36.5 },
      { rung: 0, sec: 18.5 },
      { rung: 0, sec: 18.5 },
      { rung: 1, sec: 30.5 },
      { rung: 1, sec: 30.5 },
    ]);
    expect(waveItems({ ...SMALL, audio: 'parts' }).slice(0, 3)).toEqual([
      { rung: 'audio', sec: 2 },
      { rung: 'audio', sec: 2 },
      { rung: 0, sec: 15.5 },
    ]);
  });

  it('times the wave by hand: 720p segments end at 50.5 s, its join takes 6.7816 s, 61.2816 s in all', () => {
    const m = modelWave(SMALL);
    // Slots: audio 0 → 4.5 (cold), 360a 0 → 16.5 (cold), 360b 4.5 → 20, 720a 16.5 → 47, 720b 20 → 50.5.
    expect(m.audioDoneSec).toBeCloseTo(4.5, 9);
    // 360p join: 1 cold + read 6.96 MB / 10 MB/s 0.696 + CPU 0.0696 + write 12.96 MB 1.296 = 3.0616.
    // 720p join: 1 + 18.96/10 + 0.1896 + 36.96/10 = 6.7816.
    expect(m.joins.map((j) => [j.height, j.segmentsDoneSec, j.joinSec, j.joinedSec])).toEqual([
      [360, 20, expect.closeTo(3.0616, 9), expect.closeTo(23.0616, 9)],
      [720, 50.5, expect.closeTo(6.7816, 9), expect.closeTo(57.2816, 9)],
    ]);
    expect(m.thumbnailsDoneSec).toBe(3);
    // 3 s to the Map Run + 57.2816 + 1 s aggregate.
    expect(m.totalSec).toBeCloseTo(61.2816, 9);
    expect(m.critical).toBe('720p segments, then its join');
    expect(m.segmentsPerRung).toBe(2);
    expect(m.items).toBe(5);
  });

  it('prices it by hand: 26 transitions, 50 PUTs, 22 GETs, 14 invocations, $0.0041978558', () => {
    const m = modelWave(SMALL);
    // 3 + SegmentsNeeded 1 + Segments 1 + 5 item runs + FanOut 1 + 2 × 6 branches + 3.
    expect(m.stateTransitions).toBe(26);
    // 1 upload + 8 (segment + record × 4) + 1 audio file + 10 audio HLS segments + 4
    // (init, playlist, package, record) + 2 joins × (2 + 5) + 2 × 4 thumbnails/metadata + 4.
    expect(m.s3Puts).toBe(50);
    // 5 items + 2 joins × 3 + 3 thumbnails + metadata + probe + 6 branch records.
    expect(m.s3Gets).toBe(22);
    expect(m.lambdaRequests).toBe(14);
    // GB-s: probe 1 + plan 0.125 + items 97.5 s × 1769/1024 = 168.4350586 + joins
    // (3,062 + 6,782 ms) × 1769/1024 = 17.0058945 + thumbnails 9 + metadata 1 + aggregate 0.5.
    expect(m.lambdaGbSec).toBeCloseTo(197.065953, 5);
    // x86 196.4409531 GB-s × $0.0000166667 + arm 0.625 × $0.0000133334 = $0.0032823558;
    // requests $0.0009155 (transitions $0.00065, PUTs $0.00025, the rest $0.0000155).
    expect(m.costUsd).toBeCloseTo(0.0041978558, 9);
    expect(m.costPerSourceMinuteUsd).toBeCloseTo(0.0041978558, 9);
  });

  it('audio in parts: the parts end at 3 s, their join takes 0.2976 s, 59.7816 s in all', () => {
    const m = modelWave({ ...SMALL, audio: 'parts' });
    // Items 2, 2, 15.5, 15.5, 30.5, 30.5 on 2 slots (cold 1): both parts 0 → 3; 360p 3 → 18.5 on
    // each slot; 720p 18.5 → 49 on each.
    // Audio join: 960 kB read at 10 MB/s 0.096 + CPU 0.00016 × 60 = 0.0096 + the file and its
    // HLS copy 0.192.
    expect(m.audioJoinSec).toBeCloseTo(0.2976, 9);
    expect(m.audioDoneSec).toBeCloseTo(3.2976, 9);
    expect(m.joins.map((j) => [j.height, j.segmentsDoneSec, j.joinedSec])).toEqual([
      [360, 18.5, expect.closeTo(21.5616, 9)],
      [720, 49, expect.closeTo(55.7816, 9)],
    ]);
    expect(m.totalSec).toBeCloseTo(59.7816, 9);
    expect(m.items).toBe(6);
    // 3 + 1 + (1 + 6 item runs) + 1 + 2 × 6 + 3.
    expect(m.stateTransitions).toBe(27);
    // 1 + 8 segments and records + 2 parts + 2 part records + the joined file + 10 HLS audio
    // segments + 4 + 2 joins × 7 + 8 + 4.
    expect(m.s3Puts).toBe(54);
    // 6 items + 2 joins × (2 segments + the audio) + the audio join's 2 parts + 3 + 2 + 6.
    expect(m.s3Gets).toBe(25);
    // The audio join runs in the last part's invocation: no request of its own.
    expect(m.lambdaRequests).toBe(15);
    // ms billed: parts 3,298 (join included) + 3,000, segments 2 × 15,500 + 2 × 30,500 → 98.298 s,
    // joins 9.844 s, both × 1769/1024; + probe 1 + thumbnails 9 + metadata 1 (x86); arm 0.625.
    expect(m.lambdaGbSec).toBeCloseTo(198.444529, 5);
    // x86 197.8195293 × $0.0000166667 + arm 0.625 × $0.0000133334 = $0.0033053321; requests
    // $0.0009619 (transitions $0.000675, PUTs $0.00027, Lambda/GET/SQS/SNS $0.0000169).
    expect(m.costUsd).toBeCloseTo(0.0042672321, 9);
  });

  it("adds the join's fixed CPU to each rendition's join; the audio join has its own rate", () => {
    // 0.5 s fixed: the joins 3.0616 + 0.5 and 6.7816 + 0.5; the audio join 0.2976 - 0.0096 +
    // 0.01 × 60 = 0.888 (its own CPU per source second, not the video join's).
    const m = modelWave({
      ...SMALL,
      joinCpuFixedSec: 0.5,
      audioJoinCpuPerSourceSec: 0.01,
      audio: 'parts',
    });
    expect(m.joins.map((j) => j.joinSec)).toEqual([
      expect.closeTo(3.5616, 9),
      expect.closeTo(7.2816, 9),
    ]);
    expect(m.audioJoinSec).toBeCloseTo(0.888, 9);
  });

  it('with the audio in parts a join does not wait for the audio join, which can decide the wave', () => {
    // Audio join 0.096 + 1.0 × 60 + 0.192 = 60.288 s after the parts (3 s): done at 63.288.
    // The joins start when their segments and the parts are stored: 360p 18.5 + 3.0616, 720p
    // 49 + 6.7816 = 55.7816, before the audio join ends; the wave ends with it: 3 + 63.288 + 1.
    const m = modelWave({ ...SMALL, audio: 'parts', audioJoinCpuPerSourceSec: 1 });
    expect(m.audioDoneSec).toBeCloseTo(63.288, 9);
    expect(m.joins.map((j) => j.joinedSec)).toEqual([
      expect.closeTo(21.5616, 9),
      expect.closeTo(55.7816, 9),
    ]);
    expect(m.totalSec).toBeCloseTo(67.288, 9);
    expect(m.critical).toBe('the audio parts, then the audio join');
  });

  it('finds no setting when the fixed path alone (3 s start + 1 s aggregate) is over the target', () => {
    expect(cheapestSetting(SMALL, 3.9, 'one-item')).toBeNull();
  });
});

describe('joinFit (the join CPU as fixed + per byte)', () => {
  const run = (cpu: number, bytes: number, halfCpu: number, halfBytes: number) => ({
    join: { wallSec: cpu, cpuSec: cpu },
    joinHalf: { cpuSec: halfCpu, bytes: halfBytes },
    joinedBytes: bytes,
  });

  it('fits the line through the half and the whole join, medians over the runs', () => {
    // Slopes 0.5 / 50 MB = 1e-8 and 0.6 / 50 MB = 1.2e-8 → 1.1e-8; intercepts 2 − 1.1 = 0.9
    // and 2.2 − 1.1 = 1.1 → 1.0.
    const fit = joinFit([run(2, 100e6, 1.5, 50e6), run(2.2, 100e6, 1.6, 50e6)]);
    expect(fit.joinCpuPerByte).toBeCloseTo(1.1e-8, 15);
    expect(fit.joinCpuFixedSec).toBeCloseTo(1, 9);
  });

  it('takes a join whose half cost more (noise) as all fixed', () => {
    expect(joinFit([run(1, 100e6, 1.2, 50e6)])).toEqual({ joinCpuPerByte: 0, joinCpuFixedSec: 1 });
  });
});

describe('childCpuFromStat', () => {
  it('reads cutime + cstime (fields 16, 17) after a command name with spaces and parentheses', () => {
    const stat = '4242 (node (tsx) x) S 1 2 3 4 5 6 7 8 9 10 11 12 250 50 20 0 1 0 99';
    // (250 + 50) ticks at 100 per second.
    expect(childCpuFromStat(stat, 100)).toBe(3);
  });
});
