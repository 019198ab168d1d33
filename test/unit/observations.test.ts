import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compareObservations,
  type Observations,
  observationsFile,
  readRun,
  recordObservations,
  runIdOf,
  startObservations,
} from '../e2e/observations.js';

/** A finished target record with the happy-path case as the e2e suite writes it. */
const observationsFactory = (overrides: Partial<Observations> = {}): Observations => ({
  runId: 'run-1',
  target: 'local',
  finished: true,
  cases: {
    happy: {
      status: 'COMPLETE',
      branches: { metadata: 'SUCCEEDED', 'rendition-360p': 'SUCCEEDED' },
      execution: 'SUCCEEDED',
    },
    duplicate: { executions: 1 },
  },
  ...overrides,
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'observations-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('cross-target comparison', () => {
  it('agrees when both targets observed the same thing', () => {
    // Prepare
    const run = [observationsFactory(), observationsFactory({ target: 'localstack' })];
    // Act
    const result = compareObservations(run);
    // Assess
    expect(result).toEqual({
      unfinished: [],
      agreed: ['duplicate', 'happy'],
      disagreements: [],
      observedOnce: {},
    });
  });

  it('reports a disagreement with what each target saw', () => {
    // Prepare
    const local = observationsFactory();
    const localstack = observationsFactory({
      target: 'localstack',
      cases: { ...local.cases, duplicate: { executions: 2 } },
    });
    // Act
    const result = compareObservations([local, localstack]);
    // Assess
    expect(result.disagreements).toEqual([
      { case: 'duplicate', seen: { local: { executions: 1 }, localstack: { executions: 2 } } },
    ]);
    expect(result.agreed).toEqual(['happy']);
  });

  it('does not care about key order, only about values', () => {
    // Prepare
    const a = observationsFactory({ cases: { happy: { status: 'COMPLETE', execution: 'X' } } });
    const b = observationsFactory({
      target: 'localstack',
      cases: { happy: { execution: 'X', status: 'COMPLETE' } },
    });
    // Act + Assess
    expect(compareObservations([a, b]).disagreements).toEqual([]);
  });

  it('names a target that ran but never recorded its cases', () => {
    // Prepare
    const run = [
      observationsFactory(),
      observationsFactory({ target: 'localstack', finished: false, cases: {} }),
    ];
    // Act
    const result = compareObservations(run);
    // Assess
    expect(result.unfinished).toEqual(['localstack']);
    expect(result.observedOnce).toEqual({ duplicate: 'local', happy: 'local' });
  });
});

describe('observation files', () => {
  it('compares only the files of this run: another run is ignored, however different', () => {
    // Prepare: this run's local record, and a LocalStack record left by an earlier run.
    recordObservations(dir, 'run-2', 'local', observationsFactory().cases);
    recordObservations(dir, 'run-1', 'localstack', { duplicate: { executions: 7 } });
    // Act
    const { current, ignored } = readRun(dir, 'run-2');
    const result = compareObservations(current);
    // Assess
    expect(current.map((o) => o.target)).toEqual(['local']);
    expect(ignored).toEqual(['observations-localstack.json (run run-1)']);
    expect(result.disagreements).toEqual([]);
  });

  it('sees a started but unrecorded target of this run as unfinished', () => {
    // Prepare
    startObservations(dir, 'run-3', 'localstack');
    recordObservations(dir, 'run-3', 'local', observationsFactory().cases);
    // Act
    const result = compareObservations(readRun(dir, 'run-3').current);
    // Assess
    expect(result.unfinished).toEqual(['localstack']);
  });

  it('finds a disagreement between two targets recorded in the same run', () => {
    // Prepare
    startObservations(dir, 'run-4', 'local');
    startObservations(dir, 'run-4', 'localstack');
    recordObservations(dir, 'run-4', 'local', { poison: { inDlq: true } });
    recordObservations(dir, 'run-4', 'localstack', { poison: { inDlq: false } });
    // Act
    const result = compareObservations(readRun(dir, 'run-4').current);
    // Assess
    expect(result.disagreements.map((d) => d.case)).toEqual(['poison']);
  });

  it('rejects a file that is not an observations record (e.g. the old per-target format)', () => {
    // Prepare
    writeFileSync(observationsFile(dir, 'aws'), JSON.stringify({ happy: { status: 'COMPLETE' } }));
    // Act + Assess
    expect(() => readRun(dir, 'run-5')).toThrow(
      /observations-aws\.json is not an observations file/
    );
  });

  it('reads nothing from a directory that does not exist yet', () => {
    // Act + Assess
    expect(readRun(join(dir, 'missing'), 'run-6')).toEqual({ current: [], ignored: [] });
  });
});

describe('run id', () => {
  it('is created once and then shared through the environment', () => {
    // Prepare
    const env: NodeJS.ProcessEnv = {};
    // Act
    const first = runIdOf(env);
    const second = runIdOf(env);
    // Assess
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toBe(first);
    expect(env.E2E_RUN_ID).toBe(first);
  });

  it('takes the id a caller set', () => {
    // Act + Assess
    expect(runIdOf({ E2E_RUN_ID: 'ci-1234' })).toBe('ci-1234');
  });
});
