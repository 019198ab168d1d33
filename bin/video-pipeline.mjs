#!/usr/bin/env node
// `npx video-pipeline <command>`: the CLI in cli/src/main.ts, run through tsx's loader.
// npx puts node_modules/.bin first on PATH, where `node` is the `node` devDependency's
// Node 24 (the Lambda runtime's major); started by an older Node (this file run by
// path with Node 20 on PATH), it runs itself again on that Node 24.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const require = createRequire(import.meta.url);
  const node24 = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
  const self = fileURLToPath(import.meta.url);
  const run = spawnSync(node24, [self, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
const { register } = await import('tsx/esm/api');
register();
const { runCli } = await import('../cli/src/main.ts');
await runCli(process.argv);
