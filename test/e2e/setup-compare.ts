import type { TestProject } from 'vitest/node';
import { runIdOf } from './observations.js';

/** Gives the comparison the id of this run (the e2e setups created or will read the same one). */
export default function setup(project: TestProject) {
  project.provide('e2eRunId', runIdOf());
}
