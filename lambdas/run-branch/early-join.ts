import {
  AUDIO_PARTS_RELATIVE_PREFIX,
  artifactKey,
  type BranchResult,
  branchResultKey,
  segmentItemsKey,
  segmentRelativeKey,
} from '../../contract/index.js';
import type { RenditionBranch, RenditionSegmentBranch, Segmentation } from '../../kinds/index.js';
import {
  AUDIO_ITEM_ID,
  audioPartId,
  audioPartKeys,
} from '../branch-kinds/work/rendition-segment.js';

/**
 * The early join (docs/segments.md, "Each rendition joined as soon as its
 * segments exist"): the segment item that completes a rendition (the last of
 * its segments, or the audio item when it finishes after them) joins that
 * rendition at once, instead of leaving it to the FanOut, which starts after
 * every segment of every rendition. The FanOut's rendition branch then finds
 * the SUCCEEDED record and returns at once; when the early join did not happen
 * or failed, the FanOut's branch joins as before, under the policy (timeout,
 * fallback).
 *
 * The last writer sees every segment: S3 lists are strongly consistent after
 * a write (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel).
 * Two items finishing together may both see the rendition complete: both join,
 * writing the same keys with the same stream-copied bytes, so a duplicate join
 * is harmless.
 */

/** One segmented rendition as its segment items describe it. */
export interface SegmentedRendition {
  readonly id: string;
  readonly height: number;
  readonly segmentation: Segmentation;
}

export interface EarlyJoinIo {
  listKeys: (prefix: string) => Promise<string[]>;
  /** A JSON object, or undefined when it does not exist. */
  readJson: (key: string) => Promise<unknown>;
}

/**
 * The renditions a finished item may have completed: its own rendition for a
 * video segment; every segmented rendition (read from the items file) for an
 * audio item (a part: its join may have completed the audio), which every join needs.
 */
export const renditionsTouchedBy = async (
  videoId: string,
  item: RenditionSegmentBranch,
  io: EarlyJoinIo
): Promise<SegmentedRendition[]> => {
  if (item.track !== 'audio') {
    return [{ id: item.rendition, height: item.height, segmentation: item.segmentation }];
  }
  const items = await io.readJson(segmentItemsKey(videoId));
  const byId = new Map<string, SegmentedRendition>();
  for (const i of Array.isArray(items) ? items : []) {
    const v = i as Partial<{ track: string; rendition: string; height: number }> & {
      segmentation?: Segmentation;
    };
    if (v.track === 'audio' || !v.rendition || !v.height || !v.segmentation) continue;
    if (!byId.has(v.rendition)) {
      byId.set(v.rendition, { id: v.rendition, height: v.height, segmentation: v.segmentation });
    }
  }
  return [...byId.values()];
};

/**
 * True when every segment of the rendition is in S3 and, for a source with
 * sound, the audio is there: the audio item's record (written after the AAC
 * and its playlist), or, with the audio in `audioParts` parts, every part
 * stored (the join then reads the parts, beside the audio join), and the
 * rendition was not joined yet.
 */
export const readyToJoin = async (
  videoId: string,
  rendition: SegmentedRendition,
  sourceHasAudio: boolean,
  io: EarlyJoinIo,
  audioParts?: number
): Promise<boolean> => {
  const record = (await io.readJson(branchResultKey(videoId, rendition.id))) as
    | Pick<BranchResult, 'status'>
    | undefined;
  if (record?.status === 'SUCCEEDED') return false;
  const present = new Set(
    await io.listKeys(artifactKey(videoId, `_work/segments/${rendition.id}/`))
  );
  for (let i = 0; i < rendition.segmentation.count; i++) {
    if (!present.has(artifactKey(videoId, segmentRelativeKey(rendition.id, i)))) return false;
  }
  if (!sourceHasAudio) return true;
  if (audioParts !== undefined) {
    const state = await audioJoinState(videoId, audioParts, io);
    return state.joined || state.missing.length === 0;
  }
  const audio = (await io.readJson(branchResultKey(videoId, AUDIO_ITEM_ID))) as
    | Pick<BranchResult, 'status'>
    | undefined;
  return audio?.status === 'SUCCEEDED';
};

/** The rendition branch the FanOut would run for it (the join: the plan's branch has `segmentation`). */
export const renditionBranchOf = (r: SegmentedRendition): RenditionBranch => ({
  id: r.id,
  kind: 'rendition',
  height: r.height,
  segmentation: r.segmentation,
});

/**
 * The audio of a video whose items file splits it into parts: how many
 * parts, or undefined when it does not (a silent source, or an items file
 * from before the parts, whose single audio item encodes the whole track).
 */
export const audioPartsOf = async (
  videoId: string,
  io: EarlyJoinIo
): Promise<number | undefined> => {
  const items = await io.readJson(segmentItemsKey(videoId));
  for (const i of Array.isArray(items) ? items : []) {
    const v = i as Partial<{ track: string; part: number; parts: number }>;
    if (v.track === 'audio' && typeof v.part === 'number' && typeof v.parts === 'number') {
      return v.parts;
    }
  }
  return undefined;
};

/**
 * Where the audio join stands (the audio item's `audio` record, written last
 * by the join, and the part files; one list, strongly consistent after the
 * part's own write, so the last part to finish sees every part): `joined`, or
 * the parts still missing, by id (none: the set is complete, join it).
 */
export const audioJoinState = async (
  videoId: string,
  parts: number,
  io: EarlyJoinIo
): Promise<{ joined: true } | { joined: false; missing: string[] }> => {
  const record = (await io.readJson(branchResultKey(videoId, AUDIO_ITEM_ID))) as
    | Pick<BranchResult, 'status'>
    | undefined;
  if (record?.status === 'SUCCEEDED') return { joined: true };
  const present = new Set(await io.listKeys(artifactKey(videoId, AUDIO_PARTS_RELATIVE_PREFIX)));
  const missing = audioPartKeys(videoId, parts).flatMap((key, i) =>
    present.has(key) ? [] : [audioPartId(i)]
  );
  return { joined: false, missing };
};
