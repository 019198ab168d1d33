import { DEFAULT_MAX_EXTRA_THUMBNAILS } from '../contract/index.js';

/** Planning knobs set on the Plan function (stack props → environment). */
export interface PlanConfig {
  readonly thumbnailCount: number;
  readonly thumbnailWidth: number;
  /** At most this many thumbnails at the uploader's `thumbnail-times` (the rest become warnings). */
  readonly maxExtraThumbnails: number;
  readonly renditionHeights: readonly number[];
  /** Upper bound on branches per video; more is an InvalidVideoError. */
  readonly maxBranches: number;
  /** Sources longer than this (seconds) get segment-parallel renditions; shorter ones one run. */
  readonly segmentThresholdSec: number;
  /** Target segment length in seconds (rounded up to whole 2 s GOPs). */
  readonly segmentLengthSec: number;
  /** At most this many segments per rendition: the plan lengthens segments rather than exceed it. */
  readonly maxSegments: number;
  /**
   * Longest segment (seconds of source) the segment function encodes well within
   * its timeout at its memory; a source needing longer segments is refused.
   */
  readonly maxSegmentSec: number;
}

export const DEFAULT_PLAN_CONFIG: PlanConfig = {
  thumbnailCount: 3,
  thumbnailWidth: 320,
  maxExtraThumbnails: DEFAULT_MAX_EXTRA_THUMBNAILS,
  renditionHeights: [360, 720],
  maxBranches: 1000,
  // For the 2 GiB, 600 s rendition-segment function: 1080p → 720p `veryfast` runs at
  // several times real time on ~1.2 vCPU, so 300 s of source leaves over half the
  // timeout spare; 120 segments of 30 s cover one hour.
  segmentThresholdSec: 120,
  segmentLengthSec: 30,
  maxSegments: 120,
  maxSegmentSec: 300,
};
