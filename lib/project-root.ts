import { resolve } from 'node:path';

/**
 * The package root: where package.json, package-lock.json and cdk.json live.
 * esbuild bundling needs it as projectRoot; the tooling resolves cdk.out and
 * its working folders from it.
 */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
