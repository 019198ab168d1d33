/**
 * `npm run docs:graph`: redraws the README's state-machine diagram (between
 * `<!-- state-machine:begin -->` and `<!-- state-machine:end -->`) from the synthesized
 * VideoPipeline workflow. `--check` changes nothing and exits 1 when the README is stale.
 * test/unit/docs-graph.test.ts runs the same check in the unit project.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthesizedDefinition } from './docs-graph/definition.js';
import { foldAlikeTasks, renderMermaid, replaceBetweenMarkers } from './docs-graph/render.js';
import { REPO_ROOT } from './project.js';

export const README = path.join(REPO_ROOT, 'README.md');
export const DOCS_GRAPH_COMMAND = 'npm run docs:graph';

/** The README as it should be for the current code. */
export const renderedReadme = (current: string): string =>
  replaceBetweenMarkers(
    current,
    renderMermaid(foldAlikeTasks(synthesizedDefinition())),
    `generated from the synthesized state machine by \`${DOCS_GRAPH_COMMAND}\`; do not edit by hand`
  );

const main = (): void => {
  const current = fs.readFileSync(README, 'utf8');
  const next = renderedReadme(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write(
        `README.md's state-machine diagram is stale: run \`${DOCS_GRAPH_COMMAND}\`\n`
      );
      process.exit(1);
    }
    process.stdout.write('README.md state-machine diagram is current\n');
    return;
  }
  if (next === current) {
    process.stdout.write('README.md state-machine diagram already current\n');
    return;
  }
  fs.writeFileSync(README, next);
  process.stdout.write('README.md state-machine diagram redrawn\n');
};

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) main();
