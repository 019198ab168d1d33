import { describe, expect, it } from 'vitest';
import { formatFunctionLine, shortFunctionName } from '../src/log-format.js';

const powertoolsLine = (fields: Record<string, unknown>) =>
  JSON.stringify({
    level: 'INFO',
    timestamp: '2026-11-29T20:34:35.743Z',
    service: 'video-pipeline',
    cold_start: true,
    function_arn: 'arn:aws:lambda:us-east-1:000000000000:function:VideoPipeline-Probe0EC72DDE',
    function_request_id: 'c9bb6828-7369-4d2b-93f5-371f57ef8e72',
    ...fields,
  });

describe('formatFunctionLine', () => {
  it('turns a Powertools JSON line into time, function, video, message and its own fields', () => {
    const line = `[VideoPipeline-ThumbnailBranch576AB4E7] ${powertoolsLine({
      message: 'Branch succeeded',
      videoId: 'clip-1a2b',
      branch: 'thumb-01',
      durationMs: 593,
    })}`;

    expect(formatFunctionLine(line)).toBe(
      '20:34:35.743 ThumbnailBranch clip-1a2b: Branch succeeded  branch=thumb-01  durationMs=593'
    );
  });

  it('names the level when it is not INFO', () => {
    const line = `[VideoPipeline-Probe0EC72DDE] ${powertoolsLine({ level: 'ERROR', message: 'Upload rejected' })}`;

    expect(formatFunctionLine(line)).toBe('20:34:35.743 Probe: ERROR Upload rejected');
  });

  it.each([
    [
      'metric records',
      '[VideoPipeline-Plan80FCA1C5] {"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"BranchesPlanned":5}',
    ],
    [
      "Tracer's missing-segment warning",
      '[VideoPipeline-Plan80FCA1C5] 2026-11-29T20:34:33.654Z\t188f\tWARN\tYou cannot annotate the main segment in a Lambda execution environment',
    ],
  ])('drops %s', (_what, line) => {
    expect(formatFunctionLine(line)).toBeUndefined();
  });

  it('keeps plain text from a function, and the runtime own lines unchanged', () => {
    expect(formatFunctionLine('[VideoPipeline-Probe0EC72DDE] ffmpeg: broken pipe')).toBe(
      '[Probe] ffmpeg: broken pipe'
    );
    expect(formatFunctionLine('[local] VideoPipeline running on http://127.0.0.1:4566')).toBe(
      '[local] VideoPipeline running on http://127.0.0.1:4566'
    );
  });
});

describe('shortFunctionName', () => {
  it('drops the stack prefix and the CDK hash', () => {
    expect(shortFunctionName('VideoPipeline-RenditionBranch1B8509A3')).toBe('RenditionBranch');
  });
});
