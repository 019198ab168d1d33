import { describe, expect, it } from 'vitest';
import { renderTrace, spansOf, type TraceLogRecord, traceIdsOf, videoTrace } from '../src/trace.js';

const ROOT = '1-6a1b2c3d-0123456789abcdef01234567';
const at = (s: number) => new Date(Date.parse('2026-12-07T06:00:00.000Z') + s).toISOString();

/** A starter, a probe and a branch of one video: lines and REPORTs as the local runtime keeps them. */
const RECORDS: TraceLogRecord[] = [
  {
    function: 'VideoPipeline-StartWorkflow11111111',
    time: at(5),
    requestId: 's',
    traceId: ROOT,
    videoId: 'v',
  },
  {
    function: 'VideoPipeline-StartWorkflow11111111',
    time: at(40),
    requestId: 's',
    traceId: ROOT,
    durationMs: 40,
  },
  {
    function: 'VideoPipeline-Probe22222222',
    time: at(100),
    requestId: 'p',
    traceId: ROOT,
    videoId: 'v',
  },
  {
    function: 'VideoPipeline-Probe22222222',
    time: at(900),
    requestId: 'p',
    traceId: ROOT,
    durationMs: 850,
  },
  // A branch still running: no REPORT yet, its lines bound it
  {
    function: 'VideoPipeline-ThumbnailBranch33333333',
    time: at(950),
    requestId: 't',
    traceId: ROOT,
    videoId: 'v',
  },
  {
    function: 'VideoPipeline-ThumbnailBranch33333333',
    time: at(1200),
    requestId: 't',
    traceId: ROOT,
    videoId: 'v',
  },
];

describe('status --trace', () => {
  it('makes one span per invocation: REPORT time minus its duration, else its lines', () => {
    // Act
    const spans = spansOf([...RECORDS].reverse());
    // Assess
    const t0 = Date.parse(at(0));
    expect(spans.map((s) => [s.function.split('-')[1], s.start - t0, s.end - t0])).toEqual([
      ['StartWorkflow11111111', 0, 40],
      ['Probe22222222', 50, 900],
      ['ThumbnailBranch33333333', 950, 1200],
    ]);
  });

  it('prints a waterfall from the first start', () => {
    // Act
    const text = renderTrace(ROOT, spansOf(RECORDS));
    // Assess
    expect(text.split('\n')).toEqual([
      `trace ${ROOT}: 3 spans over 1200 ms`,
      '    start  duration  function                 request',
      '     0 ms     40 ms  StartWorkflow            s',
      '    50 ms    850 ms  Probe                    p',
      '   950 ms    250 ms  ThumbnailBranch          t',
    ]);
  });

  it('finds the video’s trace from its lines, then reads the whole trace', async () => {
    // Prepare: the runtime answers by video, then by trace
    const asked: string[] = [];
    const fetchFn = (async (url: URL) => {
      asked.push(url.search);
      const records = url.searchParams.get('videoId')
        ? RECORDS.filter((r) => r.videoId === 'v')
        : RECORDS.filter((r) => r.traceId === url.searchParams.get('traceId'));
      return new Response(JSON.stringify({ records }));
    }) as typeof fetch;
    // Act
    const text = await videoTrace('http://127.0.0.1:4566', 'v', fetchFn);
    // Assess
    expect(traceIdsOf(RECORDS)).toEqual([ROOT]);
    expect(asked).toEqual(['?videoId=v', `?traceId=${ROOT}`]);
    expect(text).toContain(`trace ${ROOT}: 3 spans over 1200 ms`);
  });

  it('says where the trace is when the endpoint is not the local runtime', async () => {
    const fetchFn = (async () => new Response('', { status: 404 })) as unknown as typeof fetch;
    await expect(videoTrace('http://127.0.0.1:4566', 'v', fetchFn)).rejects.toThrow(
      /has no \/_local\/logs: it is not the local runtime; on AWS open the video's trace in X-Ray/
    );
    await expect(videoTrace(undefined, 'v', fetchFn)).rejects.toThrow(/no local endpoint/);
  });
});
