import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { REPO_ROOT } from '../../scripts/project.js';

/**
 * What each end-to-end target observed, per case, and the comparison of the targets that ran in
 * the same `vitest run`. A run id (made once per run by the root globalSetup, test/e2e/run-id.ts)
 * is written into every target's file, so files left by earlier runs are never compared.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** One id per `vitest run`, shared by every project. */
    e2eRunId: string;
  }
}

/** Where the targets' observation files live (gitignored). */
export const OBSERVATIONS_DIR = join(REPO_ROOT, '.e2e');

/**
 * The id of this `vitest run`. Every project's globalSetup runs in vitest's main process, so the
 * first one to ask creates the id in that process's environment and the others read it back.
 * Setting `E2E_RUN_ID` beforehand names the run instead, e.g. to compare two invocations.
 */
export const runIdOf = (env: NodeJS.ProcessEnv = process.env): string => {
  env.E2E_RUN_ID ||= randomUUID();
  return env.E2E_RUN_ID;
};

const ObservationsSchema = z.object({
  runId: z.string().min(1),
  target: z.string().min(1),
  /** false from the target's globalSetup until its suite's afterAll records the cases. */
  finished: z.boolean(),
  cases: z.record(z.string(), z.unknown()),
});
export type Observations = z.infer<typeof ObservationsSchema>;

const FILE = /^observations-(.+)\.json$/;
export const observationsFile = (dir: string, target: string) =>
  join(dir, `observations-${target}.json`);

const write = (dir: string, o: Observations) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(observationsFile(dir, o.target), `${JSON.stringify(o, null, 2)}\n`);
};

/**
 * Called by a target's globalSetup when its suite will run: from now on a missing record for this
 * run means the suite ran but never reported, which the comparison treats as a failure.
 */
export const startObservations = (dir: string, runId: string, target: string) =>
  write(dir, { runId, target, finished: false, cases: {} });

/** Called once by the suite after its cases ran. */
export const recordObservations = (
  dir: string,
  runId: string,
  target: string,
  cases: Record<string, unknown>
) => write(dir, { runId, target, finished: true, cases });

/** Every target's observations of this run; files of other runs are returned as `ignored`. */
export const readRun = (dir: string, runId: string) => {
  const current: Observations[] = [];
  const ignored: string[] = [];
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => FILE.test(f)) : [];
  for (const f of files.sort()) {
    const parsed = ObservationsSchema.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    if (!parsed.success) {
      throw new Error(`${join(dir, f)} is not an observations file: ${parsed.error.message}`);
    }
    if (parsed.data.runId === runId) current.push(parsed.data);
    else ignored.push(`${f} (run ${parsed.data.runId})`);
  }
  return { current, ignored };
};

export interface Disagreement {
  readonly case: string;
  /** What each target that observed the case saw. */
  readonly seen: Record<string, unknown>;
}

export interface Comparison {
  /** Targets that ran in this run but never recorded their cases. */
  readonly unfinished: string[];
  /** Cases observed by at least two targets, all of which agree. */
  readonly agreed: string[];
  readonly disagreements: Disagreement[];
  /** Cases only one target observed (e.g. it failed before recording on the other). */
  readonly observedOnce: Record<string, string>;
}

/** Compares, case by case, the observations of the targets of one run. */
export const compareObservations = (run: readonly Observations[]): Comparison => {
  const finished = run.filter((o) => o.finished);
  const names = [...new Set(finished.flatMap((o) => Object.keys(o.cases)))].sort();
  const agreed: string[] = [];
  const disagreements: Disagreement[] = [];
  const observedOnce: Record<string, string> = {};
  for (const name of names) {
    const seenBy = finished.filter((o) => name in o.cases);
    if (seenBy.length < 2) {
      observedOnce[name] = seenBy[0].target;
      continue;
    }
    const [first, ...rest] = seenBy;
    if (rest.every((o) => isDeepStrictEqual(o.cases[name], first.cases[name]))) agreed.push(name);
    else
      disagreements.push({
        case: name,
        seen: Object.fromEntries(seenBy.map((o) => [o.target, o.cases[name]])),
      });
  }
  return {
    unfinished: run.filter((o) => !o.finished).map((o) => o.target),
    agreed,
    disagreements,
    observedOnce,
  };
};
