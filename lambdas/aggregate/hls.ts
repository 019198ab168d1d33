import {
  type BranchResult,
  branchResultKey,
  type ManifestBranch,
  type ManifestHls,
} from '../../contract/index.js';
import {
  HLS_CONTENT_TYPE,
  hlsPackageKey,
  multivariantKey,
  multivariantText,
} from '../branch-kinds/hls.js';
import { AUDIO_ITEM_ID } from '../branch-kinds/work/rendition-segment.js';
import { type HlsMediaInfo, type HlsPackage, HlsPackageSchema } from '../shared/hls-playlist.js';

export interface HlsIo {
  /** A JSON object of the output bucket, or undefined when it does not exist. */
  readJson: (key: string) => Promise<unknown>;
  writeText: (key: string, body: string, contentType: string) => Promise<void>;
}

/** Kinds whose delivered branch carries a video variant. */
const VARIANT_KINDS = new Set(['rendition', 'rendition-fallback']);

/**
 * The third level of the fan-in for HLS: the multivariant playlist over the
 * media playlists the delivered renditions packaged (each measured its own:
 * `_work/hls/<branchId>.json`), with the video's one audio playlist: the
 * audio item's (segmented sources), else the first delivered package with
 * audio (the main rendition's, or its fallback's). Only SUCCEEDED branches
 * count: a timed-out branch that finishes late is never listed.
 *
 * Returns the manifest's `hls`, or null (nothing written) when no variant was
 * delivered, or when the source has audio and no audio playlist was: a
 * silent ladder for a video with sound would be a wrong output.
 */
export const publishHls = async (
  videoId: string,
  branches: readonly ManifestBranch[],
  sourceHasAudio: boolean,
  io: HlsIo
): Promise<{ hls: ManifestHls | null; reads: number }> => {
  let reads = 0;
  const readPackage = async (branchId: string): Promise<HlsPackage | undefined> => {
    reads += 1;
    const raw = await io.readJson(hlsPackageKey(videoId, branchId));
    const parsed = HlsPackageSchema.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  };
  // Every SUCCEEDED variant branch packaged (its record is written after its files);
  // the package is internal, so it is read by key, never looked up in the artifacts.
  const delivered = branches.filter((b) => VARIANT_KINDS.has(b.kind) && b.status === 'SUCCEEDED');
  if (delivered.length === 0) return { hls: null, reads };
  const packages = await Promise.all(
    delivered.map(async (b) => ({ id: b.id, pkg: await readPackage(b.id) }))
  );
  let audio: HlsMediaInfo | undefined;
  // The audio item runs only for segmented renditions (the manifest repeats their segmentation).
  if (sourceHasAudio && delivered.some((b) => b.segmentation)) {
    reads += 1;
    const record = (await io.readJson(branchResultKey(videoId, AUDIO_ITEM_ID))) as
      | Pick<BranchResult, 'status'>
      | undefined;
    if (record?.status === 'SUCCEEDED') audio = (await readPackage(AUDIO_ITEM_ID))?.audio;
  }
  if (sourceHasAudio) audio ??= packages.find((p) => p.pkg?.audio)?.pkg?.audio;
  const variants = packages.flatMap(({ id, pkg }) => (pkg?.video ? [{ id, info: pkg.video }] : []));
  if (variants.length === 0 || (sourceHasAudio && !audio)) return { hls: null, reads };

  const text = multivariantText(
    videoId,
    variants.map((v) => v.info),
    audio
  );
  const key = multivariantKey(videoId);
  // Marked final: an early writer (a rendition delivered before the aggregator ran) never replaces it.
  await io.writeText(key, text, HLS_CONTENT_TYPE);
  return {
    hls: {
      multivariantPlaylist: key,
      audioPlaylist: audio?.playlist ?? null,
      variants: variants.map(({ id, info }) => ({
        branchId: id,
        playlist: info.playlist,
        bandwidth: info.peakBitRate + (audio?.peakBitRate ?? 0),
        resolution: info.width && info.height ? `${info.width}x${info.height}` : null,
        codecs: audio ? `${info.codecs},${audio.codecs}` : info.codecs,
      })),
    },
    reads,
  };
};
