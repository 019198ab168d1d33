import { join } from 'node:path';
import {
  artifactKey,
  audioItemRelativeKey,
  audioPartRelativeKey,
  MediaToolError,
} from '../../../contract/index.js';
import {
  type AudioItem,
  type AudioPartItem,
  type RenditionSegmentBranch,
  renditionSegmentKind,
  type Segmentation,
  type VideoSegmentItem,
} from '../../../kinds/index.js';
import {
  AUDIO_SAMPLE_RATE,
  encodeAudioPart,
  joinAudioParts,
  planAudioParts,
} from '../audio-parts.js';
import { HLS_TARGET_SEC, packageHls } from '../hls.js';
import type { BranchKind, RunContext, TimeBudget } from '../kind.js';
import { encodeAudio, encodeSegment, segmentRelativeKey } from '../segmentation.js';

export type { AudioItem, AudioPartItem, RenditionSegmentBranch, VideoSegmentItem };

/** Segment ids: `rendition-720p-s0007`; the index keeps them unique and sortable. */
export const segmentBranchId = (renditionId: string, index: number): string =>
  `${renditionId}-s${String(index).padStart(4, '0')}`;

/** The audio item's id (one per video; no planned branch is called so). */
export const AUDIO_ITEM_ID = 'audio';

/** Directory of the audio media playlist under the video's `hls/`. */
export const HLS_AUDIO_NAME = 'audio';

/**
 * The segment items of one segmented rendition branch, in order: what the
 * Plan writes to S3 for the Distributed Map's ItemReader.
 */
export const segmentItemsFor = (rendition: {
  id: string;
  height: number;
  segmentation?: Segmentation | undefined;
}): VideoSegmentItem[] => {
  const s = rendition.segmentation;
  if (!s) return [];
  return Array.from({ length: s.count }, (_, index) => ({
    id: segmentBranchId(rendition.id, index),
    kind: 'rendition-segment' as const,
    track: 'video' as const,
    rendition: rendition.id,
    height: rendition.height,
    index,
    segmentation: s,
  }));
};

/** Audio part ids: `audio-p0003`; sortable, and no planned branch is called so. */
export const audioPartId = (part: number): string =>
  `${AUDIO_ITEM_ID}-p${String(part).padStart(4, '0')}`;

/** True for one part of the audio (the whole track, and its join, have no `part`; the schema checks all-or-none). */
export const isAudioPart = (item: RenditionSegmentBranch): item is AudioPartItem =>
  item.track === 'audio' && item.part !== undefined;

/**
 * The audio part items of a video with segmented renditions and an audio
 * stream: parts about as long as its video segments (audio-parts.ts), so the
 * audio is K items of the Map Run like the segments instead of one long one.
 */
export const audioPartItems = (durationSec: number, lengthSec: number): AudioPartItem[] =>
  planAudioParts(durationSec, lengthSec).map((p) => ({
    id: audioPartId(p.part),
    kind: 'rendition-segment' as const,
    track: 'audio' as const,
    part: p.part,
    parts: p.parts,
    sampleRate: AUDIO_SAMPLE_RATE,
    startSample: p.startSample,
    endSample: p.endSample,
  }));

/**
 * The audio branch (id `audio`): with `parts`, the join of that many parts;
 * without, the whole-file encode of an items file written before the parts.
 * Its SUCCEEDED record is what the renditions' joins wait for.
 */
export const audioItem = (parts?: number): AudioItem => ({
  id: AUDIO_ITEM_ID,
  kind: 'rendition-segment',
  track: 'audio',
  ...(parts !== undefined && { parts }),
});

/** The audio part keys of a video, in order. */
export const audioPartKeys = (videoId: string, parts: number): string[] =>
  Array.from({ length: parts }, (_, i) => artifactKey(videoId, audioPartRelativeKey(i)));

/**
 * One item of the segment Distributed Map (never run by the FanOut: its plan
 * is empty). A video segment: video only, stored under `_work/` until the
 * join. An audio part: its samples as AAC, stored under `_work/` until the
 * audio join. The audio join (and the whole-file encode of older items files):
 * the video's AAC under `_work/` for the renditions' joins, packaged as the
 * video's HLS audio playlist (`hls/audio/`, stream copy).
 */
export const renditionSegment: BranchKind<typeof renditionSegmentKind.schema> = {
  ...renditionSegmentKind,
  plan: () => [],
  async run(branch, context) {
    const { videoId, input, probe, workDir, timeBudget } = context;
    if (isAudioPart(branch)) {
      const out = join(workDir, `${branch.id}.m4a`);
      await encodeAudioPart({ input, out, item: branch, track: probe.audioTrack, timeBudget });
      return [
        {
          key: artifactKey(videoId, audioPartRelativeKey(branch.part)),
          contentType: 'audio/mp4',
          path: out,
        },
      ];
    }
    if (branch.track === 'audio') {
      const out = join(workDir, 'audio.m4a');
      if (branch.parts === undefined) {
        await encodeAudio(input, out, timeBudget, probe.audioTrack);
      } else {
        await joinStoredParts(branch.parts, out, context, timeBudget);
      }
      const hls = await packageHls({
        videoId,
        branchId: branch.id,
        inputArgs: ['-i', out],
        video: null,
        audio: HLS_AUDIO_NAME,
        workDir,
        targetSec: HLS_TARGET_SEC,
        timeBudget,
      });
      return [
        { key: artifactKey(videoId, audioItemRelativeKey()), contentType: 'audio/mp4', path: out },
        ...hls,
      ];
    }
    const out = join(workDir, `${branch.id}.mp4`);
    await encodeSegment({
      input,
      out,
      height: branch.height,
      index: branch.index,
      count: branch.segmentation.count,
      segmentation: branch.segmentation,
      timeBudget,
      variableFrameRate: probe.variableFrameRate !== undefined,
    });
    return [
      {
        key: artifactKey(videoId, segmentRelativeKey(branch.rendition, branch.index)),
        contentType: 'video/mp4',
        path: out,
      },
    ];
  },
};

/** The audio join: every part must be stored (the missing ones are named). */
const joinStoredParts = async (
  parts: number,
  out: string,
  { videoId, workDir, outputUrl }: RunContext,
  timeBudget: TimeBudget
): Promise<void> => {
  if (!outputUrl) throw new MediaToolError('this runner cannot read audio parts (no outputUrl)');
  const urls = await Promise.all(audioPartKeys(videoId, parts).map((k) => outputUrl(k)));
  const missing = urls.flatMap((u, i) => (u === undefined ? [audioPartId(i)] : []));
  if (missing.length > 0) throw new MediaToolError(missingPartsMessage(missing, parts));
  await joinAudioParts({ parts: urls as string[], out, workDir, timeBudget });
};

/** Why a join could not have the audio: which parts are missing (the first few named). */
export const missingPartsMessage = (missing: readonly string[], parts: number): string =>
  `the audio track is missing: ${missing.length} of ${parts} audio parts missing ` +
  `(${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}); their items failed or did not run`;

export default renditionSegment;
