import { describe, expect, it } from 'vitest';
import { useMediaTools } from '../../fixtures/media.js';
import { uploadWaves } from '../../lambdas/run-branch/logic.js';
import {
  emptyPhases,
  PHASES_METADATA,
  phasesOf,
  roundedPhases,
  timed,
} from '../../lambdas/run-branch/phases.js';
import { runTool, tallyTools } from '../../lambdas/shared/media.js';

describe('timed', () => {
  it('adds the time of each entry into its phase, also when the work throws', async () => {
    // Prepare: a literal clock that advances 7 ms per reading after the first
    let now = 100;
    const clock = () => {
      const t = now;
      now += 7;
      return t;
    };
    const phases = emptyPhases();

    // Act
    await timed(phases, 'uploadMs', async () => 'ok', clock);
    const failed = timed(
      phases,
      'uploadMs',
      async () => {
        throw new Error('PUT failed');
      },
      clock
    );

    // Assess
    await expect(failed).rejects.toThrow('PUT failed');
    expect(phases.uploadMs).toBe(14);
    expect(phases.runMs).toBe(0);
  });
});

describe('phasesOf', () => {
  const record = (phases: unknown) => ({
    _aws: { CloudWatchMetrics: [] },
    videoId: 'v1',
    branchId: 'thumb-01',
    [PHASES_METADATA]: JSON.stringify(phases),
  });

  it('reads back the split the branch published as EMF metadata', () => {
    // Prepare
    const published = roundedPhases({ ...emptyPhases(), runMs: 812.4, uploads: 2, totalMs: 901.6 });

    // Act
    const found = phasesOf(record(published));

    // Assess
    expect(found).toEqual({
      videoId: 'v1',
      branchId: 'thumb-01',
      phases: { ...emptyPhases(), runMs: 812, uploads: 2, totalMs: 902 },
    });
  });

  it('ignores records without the split, or with a field missing or not a number', () => {
    const { uploadMs: _left, ...missing } = emptyPhases();
    expect(phasesOf({ _aws: {}, videoId: 'v1' })).toBeUndefined();
    expect(phasesOf(record(missing))).toBeUndefined();
    expect(phasesOf(record({ ...emptyPhases(), runMs: 'slow' }))).toBeUndefined();
    expect(phasesOf({ ...record(emptyPhases()), [PHASES_METADATA]: '{not json' })).toBeUndefined();
  });
});

describe('tallyTools', () => {
  it('counts the tool runs of its own work only, when two run side by side', async () => {
    // Prepare
    useMediaTools();
    const versionOnce = () => runTool('ffprobe', ['-version'], { timeoutMs: 15_000 });

    // Act: one side runs the tool twice, the other once, interleaved in one process
    const [two, one] = await Promise.all([
      tallyTools(async () => {
        await versionOnce();
        await versionOnce();
      }),
      tallyTools(versionOnce),
    ]);
    const outside = await versionOnce();

    // Assess
    expect(two.tools.runs).toBe(2);
    expect(one.tools.runs).toBe(1);
    expect(one.result.code).toBe(0);
    expect(outside.code).toBe(0);
  });
});

describe('uploadWaves', () => {
  it('puts every playlist after every file a playlist may name, keeping the order within a wave', () => {
    // Prepare: as packageHls produces them (each track's playlist last in its own track)
    const file = (key: string) => ({ key, contentType: 'x', path: `/tmp/${key}` });
    const produced = [
      file('renditions/720p.mp4'),
      file('hls/720p/init.mp4'),
      file('hls/720p/seg_00000.m4s'),
      file('hls/720p/index.m3u8'),
      file('hls/audio/init.mp4'),
      file('hls/audio/seg_00000.m4s'),
      file('hls/audio/index.m3u8'),
      {
        key: '_work/hls/rendition-720p.json',
        contentType: 'x',
        internal: true as const,
        body: Buffer.from('{}'),
      },
    ];

    // Act
    const waves = uploadWaves(produced).map((w) => w.map((p) => p.key));

    // Assess
    expect(waves).toEqual([
      [
        'renditions/720p.mp4',
        'hls/720p/init.mp4',
        'hls/720p/seg_00000.m4s',
        'hls/audio/init.mp4',
        'hls/audio/seg_00000.m4s',
        '_work/hls/rendition-720p.json',
      ],
      ['hls/720p/index.m3u8', 'hls/audio/index.m3u8'],
    ]);
  });

  it('has one wave when nothing is a playlist, none for nothing', () => {
    const jpg = { key: 'thumbnails/t.jpg', contentType: 'image/jpeg', path: '/tmp/t.jpg' };
    expect(uploadWaves([jpg])).toEqual([[jpg]]);
    expect(uploadWaves([])).toEqual([]);
  });
});
