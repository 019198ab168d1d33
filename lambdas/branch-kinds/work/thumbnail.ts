import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactKey, FrameNotFoundError, type ProbeResult } from '../../../contract/index.js';
import { type ThumbnailBranch, thumbnailKind } from '../../../kinds/index.js';
import { inputOptions, runFfmpeg } from '../../shared/media.js';
import type { BranchKind } from '../kind.js';

export type { ThumbnailBranch };

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const pad2 = (i: number): string => String(i).padStart(2, '0');

/** `thumb-at-2-5s`, `thumb-at-999s`: readable, and unique per requested time (ms precision). */
export const requestedThumbnailId = (atSec: number): string => {
  const ms = Math.round(atSec * 1000);
  const frac = ms % 1000;
  // Integer arithmetic: float formatting writes large times as "1e+21" or with rounding noise.
  const whole = String((ms - frac) / 1000);
  const text = frac === 0 ? whole : `${whole}-${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
  return `thumb-at-${text}s`;
};

/** Published path of one thumbnail. */
export const thumbnailKey = (videoId: string, branchId: string): string =>
  artifactKey(videoId, `thumbnails/${branchId}.jpg`);

const fileSize = async (path: string): Promise<number> =>
  (await stat(path).catch(() => null))?.size ?? 0;

/**
 * The latest seek time that still lands on a frame, or null when the frame
 * rate is unknown. `-ss T` (before `-i`) outputs the first frame whose
 * timestamp is ≥ T, so past the last frame's start nothing is written: a
 * one-frame video (0.04 s at 25 fps) has a frame only at T = 0. Half a frame
 * before the last frame's start leaves room for timestamp rounding. The frame
 * count is rounded down, so a container duration a little longer than the
 * video (an audio tail) costs at most one frame of reach.
 */
export const lastFrameSec = (
  probe: Pick<ProbeResult, 'durationSec' | 'frameRate'>
): number | null => {
  const fps = probe.frameRate;
  if (!(fps > 0)) return null;
  const frames = Math.max(1, Math.floor(probe.durationSec * fps + 1e-6));
  return frames === 1 ? 0 : round3((frames - 1.5) / fps);
};

/**
 * Evenly spaced JPEG thumbnails, plus one per time the uploader asked for.
 * The even ones are clamped to the frames the video has and de-duplicated (a
 * one-frame video gets one thumbnail of its frame), so a short video is not
 * PARTIAL for times nobody asked for. Requested times are kept even past the
 * end of the video: that branch fails with FrameNotFoundError and the video
 * ends PARTIAL, which tells the uploader their request was wrong instead of
 * silently dropping it. At most `maxExtraThumbnails` requested times are
 * planned (the probe already bounds them; the plan holds the line too).
 */
export const thumbnail: BranchKind<typeof thumbnailKind.schema> = {
  ...thumbnailKind,
  plan(probe, config) {
    const n = config.thumbnailCount;
    const last = lastFrameSec(probe);
    const seen = new Set<number>();
    const even = Array.from({ length: n }, (_, i) => {
      const wanted = round3((probe.durationSec * (i + 1)) / (n + 1));
      return {
        id: `thumb-${pad2(i + 1)}`,
        kind: 'thumbnail' as const,
        atSec: last === null ? wanted : Math.min(wanted, last),
        width: config.thumbnailWidth,
      };
    }).filter((b) => !seen.has(b.atSec) && Boolean(seen.add(b.atSec)));
    const requested = [...new Set((probe.requestedThumbnailTimes ?? []).map(round3))]
      .slice(0, config.maxExtraThumbnails)
      .map((atSec) => ({
        id: requestedThumbnailId(atSec),
        kind: 'thumbnail' as const,
        atSec,
        width: config.thumbnailWidth,
      }));
    return [...even, ...requested];
  },
  async run(branch, { videoId, probe, input, workDir, timeBudget }) {
    const out = join(workDir, `${branch.id}.jpg`);
    // -ss before -i seeks on the container index: over a URL that is a few range requests.
    await runFfmpeg(
      [
        ...inputOptions(input),
        '-ss',
        String(branch.atSec),
        '-i',
        input,
        '-frames:v',
        '1',
        '-vf',
        `scale=${branch.width}:-2`,
        '-q:v',
        '3',
        out,
      ],
      timeBudget
    );
    // ffmpeg exits 0 and writes nothing when the seek lands past the last frame.
    if ((await fileSize(out)) === 0) {
      throw new FrameNotFoundError(
        `no frame at ${branch.atSec}s (video is ${probe.durationSec.toFixed(1)}s long)`
      );
    }
    return [{ key: thumbnailKey(videoId, branch.id), contentType: 'image/jpeg', path: out }];
  },
};

export default thumbnail;
