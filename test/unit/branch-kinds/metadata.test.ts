import '../../helpers/env.js';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PLAN_CONFIG,
  metadata,
  metadataDocument,
} from '../../../lambdas/branch-kinds/index.js';
import type { FfprobeOutput } from '../../../lambdas/shared/media.js';
import { probeFactory, sourceFactory } from '../../helpers/factories.js';

/** ffprobe's JSON for a 640x360 H.264/AAC MP4, trimmed to the fields the summary reads. */
const ffprobeOutputFactory = (): FfprobeOutput => ({
  streams: [
    {
      index: 0,
      codec_type: 'video',
      codec_name: 'h264',
      width: 640,
      height: 360,
      avg_frame_rate: '25/1',
    },
    { index: 1, codec_type: 'audio', codec_name: 'aac' },
  ],
  format: {
    filename: 'https://upload-bucket.s3.amazonaws.com/uploads/clip.mp4?X-Amz-Signature=abc',
    format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
    duration: '3.000000',
    size: '53323',
    bit_rate: '142194',
  },
});

describe('metadata.plan', () => {
  it.each([
    { description: 'a 360p clip', probe: probeFactory() },
    { description: 'a 1080p film', probe: probeFactory({ height: 1080, durationSec: 7200 }) },
    {
      description: 'with requested thumbnails',
      probe: probeFactory({ requestedThumbnailTimes: [1] }),
    },
  ])('plans exactly one metadata branch for $description', ({ probe }) => {
    // Act
    const branches = metadata.plan(probe, DEFAULT_PLAN_CONFIG);

    // Assess
    expect(branches).toEqual([{ id: 'metadata', kind: 'metadata' }]);
  });
});

describe('metadataDocument', () => {
  it('is an object with the published fields, a summary and ffprobe output without the input URL', () => {
    // Prepare
    const source = sourceFactory();

    // Act
    const tools = { ffmpeg: '6.0-static', ffprobe: '6.0-static' };
    const doc = metadataDocument('clip-0123456789abcdef', source, ffprobeOutputFactory(), tools);

    // Assess
    expect(Object.keys(doc).sort()).toEqual(['ffprobe', 'source', 'summary', 'tools', 'videoId']);
    expect(doc.tools).toEqual({ ffmpeg: '6.0-static', ffprobe: '6.0-static' });
    expect(doc.videoId).toBe('clip-0123456789abcdef');
    expect(doc.source).toEqual(source);
    expect(doc.summary).toEqual({
      durationSec: 3,
      width: 640,
      height: 360,
      videoCodec: 'h264',
      audioCodec: 'aac',
      frameRate: 25,
      bitRate: 142194,
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      streams: 2,
    });
    expect(doc.ffprobe.streams).toHaveLength(2);
    expect(doc.ffprobe.format).not.toHaveProperty('filename');
    expect(JSON.stringify(doc)).not.toContain('X-Amz-Signature');
  });

  it('reports unknown facts as null rather than dropping them', () => {
    // Act
    const doc = metadataDocument('v', sourceFactory(), {}, { ffmpeg: 'x', ffprobe: 'y' });

    // Assess
    expect(doc.summary).toEqual({
      durationSec: null,
      width: null,
      height: null,
      videoCodec: null,
      audioCodec: null,
      frameRate: null,
      bitRate: null,
      formatName: null,
      streams: 0,
    });
    expect(doc.ffprobe).toEqual({ format: {}, streams: [] });
  });
});
