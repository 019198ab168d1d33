import { describe, expect, it } from 'vitest';
import { childTraceHeader, newTraceId, reportTraceFields, traceRoot } from '../src/lambda/trace.js';
import { LogStore, logRecordOf } from '../src/log-store.js';

const FN = 'VideoPipeline-Probe1A2B3C4D';
const ROOT = '1-6a1b2c3d-0123456789abcdef01234567';
const powertools = (fields: Record<string, unknown>) =>
  `[${FN}] ${JSON.stringify({ level: 'INFO', message: 'Probed', timestamp: '2026-12-07T06:00:01.250Z', ...fields })}`;

describe('trace headers', () => {
  it('keeps the Root and the sampling of the parent, with a new Parent per hop', () => {
    // Prepare
    const parent = `Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=0`;
    // Act
    const child = childTraceHeader(parent);
    // Assess
    expect(child).toMatch(new RegExp(`^Root=${ROOT};Parent=[0-9a-f]{16};Sampled=0$`));
    expect(child).not.toContain('53995c3f42cd8ad8');
  });

  it('starts a sampled trace whose id holds its start in epoch seconds', () => {
    expect(newTraceId(Date.parse('2026-12-07T06:00:00Z'))).toMatch(/^1-6b164b60-[0-9a-f]{24}$/);
    expect(traceRoot(childTraceHeader())).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(childTraceHeader()).toMatch(/;Sampled=1$/);
  });

  it("writes the REPORT line's X-Ray fields as Lambda does", () => {
    expect(reportTraceFields(`Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=1`)).toBe(
      `XRAY TraceId: ${ROOT}\tSegmentId: 53995c3f42cd8ad8\tSampled: true`
    );
  });
});

describe('log store', () => {
  it('reads a REPORT line: request, duration and trace, ending when it is written', () => {
    // Act
    const record = logRecordOf(
      `[${FN}] REPORT RequestId: r-1\tDuration: 812.50 ms\tXRAY TraceId: ${ROOT}\tSegmentId: 53995c3f42cd8ad8\tSampled: true`,
      new Date('2026-12-07T06:00:02.000Z')
    );
    // Assess
    expect(record).toEqual({
      function: FN,
      time: '2026-12-07T06:00:02.000Z',
      requestId: 'r-1',
      durationMs: 812.5,
      traceId: ROOT,
    });
  });

  it('reads a Powertools line with its trace, request and video', () => {
    expect(
      logRecordOf(powertools({ xray_trace_id: ROOT, function_request_id: 'r-1', videoId: 'v-1' }))
    ).toEqual({
      function: FN,
      time: '2026-12-07T06:00:01.250Z',
      requestId: 'r-1',
      traceId: ROOT,
      videoId: 'v-1',
      message: 'Probed',
    });
  });

  it.each([
    ['an untraced Powertools line', powertools({ function_request_id: 'r-1' })],
    ['a plain text line', `[${FN}] 2026-12-07T06:00:00.000Z\tr-1\tINFO\thello`],
    ['a REPORT line without X-Ray fields', `[${FN}] REPORT RequestId: r-1 Duration: 1.00 ms`],
    ['a runtime line', '[sqs] move task on q: COMPLETED, 1 moved'],
  ])('keeps no record of %s', (_name, line) => {
    expect(logRecordOf(line)).toBeUndefined();
  });

  it('answers by trace and by video, and forgets the oldest past its limit', () => {
    // Prepare
    const store = new LogStore(2);
    // Act
    store.offer(powertools({ xray_trace_id: 'old', function_request_id: 'r-0', videoId: 'v-0' }));
    store.offer(powertools({ xray_trace_id: ROOT, function_request_id: 'r-1', videoId: 'v-1' }));
    store.offer(powertools({ xray_trace_id: ROOT, function_request_id: 'r-2' }));
    // Assess
    expect(store.query({ traceId: ROOT }).map((r) => r.requestId)).toEqual(['r-1', 'r-2']);
    expect(store.query({ videoId: 'v-1' }).map((r) => r.requestId)).toEqual(['r-1']);
    expect(store.query({ traceId: 'old' })).toEqual([]);
  });
});
