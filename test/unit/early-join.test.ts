import { describe, expect, it } from 'vitest';
import { branchResultKey, segmentItemsKey } from '../../contract/index.js';
import type { RenditionSegmentBranch, Segmentation } from '../../kinds/index.js';
import {
  audioItem,
  audioPartItems,
  segmentItemsFor,
} from '../../lambdas/branch-kinds/work/rendition-segment.js';
import {
  audioJoinState,
  audioPartsOf,
  type EarlyJoinIo,
  readyToJoin,
  renditionBranchOf,
  renditionsTouchedBy,
} from '../../lambdas/run-branch/early-join.js';

const VIDEO_ID = 'clip-0123456789abcdef';
const SEGMENTATION: Segmentation = {
  count: 3,
  lengthSec: 2,
  framesPerSegment: 50,
  gopFrames: 50,
  frameRate: 25,
};
const R360 = { id: 'rendition-360p', height: 360, segmentation: SEGMENTATION };
const R720 = { id: 'rendition-720p', height: 720, segmentation: SEGMENTATION };

/** The output bucket as a set of objects (JSON values by key). */
const bucket = (objects: Record<string, unknown>): EarlyJoinIo => ({
  listKeys: async (prefix) => Object.keys(objects).filter((k) => k.startsWith(prefix)),
  readJson: async (key) => objects[key],
});
const segmentKey = (rendition: string, i: number) =>
  `outputs/${VIDEO_ID}/_work/segments/${rendition}/000${i}.mp4`;
const segments = (rendition: string, indexes: number[]) =>
  Object.fromEntries(indexes.map((i) => [segmentKey(rendition, i), 'bytes']));
const AUDIO_DONE = { [branchResultKey(VIDEO_ID, 'audio')]: { status: 'SUCCEEDED' } };

const partKey = (i: number) => `outputs/${VIDEO_ID}/_work/segments/audio-parts/000${i}.m4a`;
const parts = (indexes: number[]) => Object.fromEntries(indexes.map((i) => [partKey(i), 'bytes']));

describe('renditionsTouchedBy', () => {
  it('a video segment completes only its own rendition; the audio item, every rendition of the items file', async () => {
    // Prepare: the items file the Plan writes (audio first, then every segment).
    const items = [audioItem(), ...segmentItemsFor(R360), ...segmentItemsFor(R720)];
    const io = bucket({ [segmentItemsKey(VIDEO_ID)]: items });
    const segment = segmentItemsFor(R720)[1] as RenditionSegmentBranch;
    // Act
    const bySegment = await renditionsTouchedBy(VIDEO_ID, segment, io);
    const byAudio = await renditionsTouchedBy(VIDEO_ID, audioItem(), io);
    // Assess
    expect(bySegment).toEqual([R720]);
    expect(byAudio).toEqual([R360, R720]);
  });
});

describe('readyToJoin', () => {
  it.each<[string, Record<string, unknown>, boolean, boolean]>([
    [
      'every segment and the audio are in',
      { ...segments('rendition-360p', [0, 1, 2]), ...AUDIO_DONE },
      true,
      true,
    ],
    ['a segment is missing', { ...segments('rendition-360p', [0, 2]), ...AUDIO_DONE }, true, false],
    [
      'the audio item has not stored its record',
      segments('rendition-360p', [0, 1, 2]),
      true,
      false,
    ],
    ['a silent source needs no audio', segments('rendition-360p', [0, 1, 2]), false, true],
    [
      'the audio item failed',
      {
        ...segments('rendition-360p', [0, 1, 2]),
        [branchResultKey(VIDEO_ID, 'audio')]: { status: 'FAILED' },
      },
      true,
      false,
    ],
    [
      'another rendition’s segments do not count',
      { ...segments('rendition-720p', [0, 1, 2]), ...AUDIO_DONE },
      true,
      false,
    ],
    [
      'the rendition is joined already (a duplicate last arriver)',
      {
        ...segments('rendition-360p', [0, 1, 2]),
        ...AUDIO_DONE,
        [branchResultKey(VIDEO_ID, 'rendition-360p')]: { status: 'SUCCEEDED' },
      },
      true,
      false,
    ],
  ])('%s', async (_case, objects, sourceHasAudio, expected) => {
    // Act / Assess
    expect(await readyToJoin(VIDEO_ID, R360, sourceHasAudio, bucket(objects))).toBe(expected);
  });
});

describe('readyToJoin with the audio in 3 parts', () => {
  it.each<[string, Record<string, unknown>, boolean]>([
    [
      'every segment and every part are in, the audio join not done: join from the parts',
      { ...segments('rendition-360p', [0, 1, 2]), ...parts([0, 1, 2]) },
      true,
    ],
    ['a part is missing', { ...segments('rendition-360p', [0, 1, 2]), ...parts([0, 2]) }, false],
    [
      'the audio joined (the parts need not be listed again)',
      { ...segments('rendition-360p', [0, 1, 2]), ...AUDIO_DONE },
      true,
    ],
    ['a segment is missing', { ...segments('rendition-360p', [0, 1]), ...parts([0, 1, 2]) }, false],
  ])('%s', async (_case, objects, expected) => {
    // Act / Assess
    expect(await readyToJoin(VIDEO_ID, R360, true, bucket(objects), 3)).toBe(expected);
  });
});

describe('renditionBranchOf', () => {
  it('is the join branch the Plan gives the FanOut (a rendition with its segmentation)', () => {
    expect(renditionBranchOf(R360)).toEqual({
      id: 'rendition-360p',
      kind: 'rendition',
      height: 360,
      segmentation: SEGMENTATION,
    });
  });
});

describe('audio in parts: the join of the parts', () => {
  const partKey = (i: number) => `outputs/${VIDEO_ID}/_work/segments/audio-parts/000${i}.m4a`;
  const parts = (indexes: number[]) =>
    Object.fromEntries(indexes.map((i) => [partKey(i), 'bytes']));
  const ITEMS = {
    [segmentItemsKey(VIDEO_ID)]: [...audioPartItems(8, 2), ...segmentItemsFor(R360)],
  };

  it('reads the part count from the items file; none for an older whole-file item or a silent source', async () => {
    // Prepare: 8 s in 2 s parts → 4 parts (audio-parts.test.ts works the arithmetic)
    const old = bucket({ [segmentItemsKey(VIDEO_ID)]: [audioItem(), ...segmentItemsFor(R360)] });
    const silent = bucket({ [segmentItemsKey(VIDEO_ID)]: segmentItemsFor(R360) });

    // Act
    const counts = await Promise.all(
      [bucket(ITEMS), old, silent].map((io) => audioPartsOf(VIDEO_ID, io))
    );

    // Assess
    expect(counts).toEqual([4, undefined, undefined]);
  });

  it.each([
    [
      'every part stored: join now',
      { ...ITEMS, ...parts([0, 1, 2, 3]) },
      { joined: false, missing: [] },
    ],
    [
      'parts missing: named by id',
      { ...ITEMS, ...parts([0, 2]) },
      { joined: false, missing: ['audio-p0001', 'audio-p0003'] },
    ],
    [
      'already joined (the audio record SUCCEEDED): nothing to do, whatever is listed',
      { ...ITEMS, ...AUDIO_DONE },
      { joined: true },
    ],
    [
      'a failed join is joined again once every part is there',
      {
        ...ITEMS,
        ...parts([0, 1, 2, 3]),
        [branchResultKey(VIDEO_ID, 'audio')]: { status: 'FAILED' },
      },
      { joined: false, missing: [] },
    ],
  ])('%s', async (_name, objects, expected) => {
    // Prepare
    const io = bucket(objects);

    // Act
    const state = await audioJoinState(VIDEO_ID, 4, io);

    // Assess
    expect(state).toEqual(expected);
  });

  it('an audio part, like the whole-track item, may complete every rendition', async () => {
    // Prepare
    const io = bucket(ITEMS);
    const [part] = audioPartItems(8, 2);

    // Act
    const touched = await renditionsTouchedBy(VIDEO_ID, part!, io);

    // Assess
    expect(touched.map((r) => r.id)).toEqual(['rendition-360p']);
  });
});
