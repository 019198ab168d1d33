import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The page's three files, built once at start with the project's esbuild and
 * served from memory: nothing is fetched from a CDN, so the page works offline.
 */

export interface Asset {
  type: string;
  body: string;
}

export type Assets = ReadonlyMap<string, Asset>;

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');

export const buildAssets = async (): Promise<Assets> => {
  const result = await build({
    entryPoints: [join(WEB, 'app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const js = result.outputFiles[0]?.text;
  if (!js) throw new Error('esbuild produced no bundle for console/web/app.ts');
  const html = readFileSync(join(WEB, 'index.html'), 'utf8');
  return new Map([
    ['/', { type: 'text/html; charset=utf-8', body: html }],
    ['/index.html', { type: 'text/html; charset=utf-8', body: html }],
    [
      '/app.css',
      { type: 'text/css; charset=utf-8', body: readFileSync(join(WEB, 'app.css'), 'utf8') },
    ],
    ['/app.js', { type: 'text/javascript; charset=utf-8', body: js }],
  ]);
};
