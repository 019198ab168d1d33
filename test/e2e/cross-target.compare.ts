import { describe, expect, inject, it } from 'vitest';
import { compareObservations, OBSERVATIONS_DIR, readRun } from './observations.js';

/**
 * Runs after both e2e projects (vitest.config.ts, groupOrder): the targets that ran in this
 * `vitest run` must each have recorded their observations, and must agree on every case more
 * than one of them observed. Files left by earlier runs are ignored.
 */
const runId = inject('e2eRunId');
const { current, ignored } = readRun(OBSERVATIONS_DIR, runId);
const result = compareObservations(current);
const ran = current.map((o) => o.target);

describe(`cross-target comparison of run ${runId}`, () => {
  it('every target that ran recorded its observations', () => {
    // Assess (Prepare + Act: the e2e projects that ran before this one)
    if (ignored.length > 0)
      console.log(`[e2e-compare] ignored, from other runs: ${ignored.join(', ')}`);
    console.log(`[e2e-compare] targets in this run: ${ran.join(', ') || '(none)'}`);
    expect(result.unfinished, 'targets whose suite ran but recorded nothing').toEqual([]);
  });

  it.skipIf(ran.length < 2)('the targets agree on every case they both observed', () => {
    // Assess
    for (const [name, target] of Object.entries(result.observedOnce)) {
      console.log(`[e2e-compare] "${name}" observed on ${target} only: not compared`);
    }
    for (const name of result.agreed) console.log(`[e2e-compare] ${ran.join(' = ')} on "${name}"`);
    expect(result.disagreements).toEqual([]);
  });
});
