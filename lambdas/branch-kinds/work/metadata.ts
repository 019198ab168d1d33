import { artifactKey, type SourceObject } from '../../../contract/index.js';
import { metadataKind } from '../../../kinds/index.js';
import {
  type FfprobeOutput,
  inspect,
  type MediaToolVersions,
  mediaToolVersions,
  parseRate,
  remaining,
  toNumber,
} from '../../shared/media.js';
import type { BranchKind } from '../kind.js';

/** Published path of the metadata document. */
export const metadataKey = (videoId: string): string => artifactKey(videoId, 'metadata.json');

/**
 * The metadata artifact: a short summary for humans, ffprobe's full output,
 * and the ffmpeg/ffprobe versions that produced this video's outputs (the
 * layer's build: operators can tell which uploads a media CVE touched).
 */
export const metadataDocument = (
  videoId: string,
  source: SourceObject,
  info: FfprobeOutput,
  tools: MediaToolVersions
) => {
  const streams = info.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  // The input path or presigned URL means nothing to a reader (and the URL holds a signature).
  const { filename: _filename, ...format } = info.format ?? {};
  return {
    videoId,
    source,
    summary: {
      durationSec: toNumber(info.format?.duration),
      width: video?.width ?? null,
      height: video?.height ?? null,
      videoCodec: video?.codec_name ?? null,
      audioCodec: audio?.codec_name ?? null,
      frameRate: parseRate(video?.avg_frame_rate) || null,
      bitRate: toNumber(info.format?.bit_rate),
      formatName: info.format?.format_name ?? null,
      streams: streams.length,
    },
    ffprobe: { format, streams },
    tools,
  };
};

/** One JSON document describing the source: ffprobe reads only the container headers. */
export const metadata: BranchKind<typeof metadataKind.schema> = {
  ...metadataKind,
  plan: () => [{ id: 'metadata', kind: 'metadata' as const }],
  async run(_branch, { videoId, source, input, timeBudget }) {
    const [info, tools] = await Promise.all([
      inspect(input, remaining(timeBudget, 'ffprobe')),
      mediaToolVersions(),
    ]);
    const body = Buffer.from(
      `${JSON.stringify(metadataDocument(videoId, source, info, tools), null, 2)}\n`
    );
    return [{ key: metadataKey(videoId), contentType: 'application/json', body }];
  },
};

export default metadata;
