import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The name of the marker file the per-file setup writes: the test file that owned the dir. */
export const OWNER_FILE = '.test-file';

/**
 * Is `dir` a synthesized cloud assembly (what `app.synth()` writes: manifest.json beside
 * tree.json or a *.template.json), or CDK's own temporary outdir (`cdk.out…`)?
 */
export const isAssembly = (dir: string, name: string): boolean => {
  if (name.startsWith('cdk.out')) return true;
  if (!existsSync(join(dir, 'manifest.json'))) return false;
  const entries = readdirSync(dir);
  return entries.includes('tree.json') || entries.some((e) => e.endsWith('.template.json'));
};

/**
 * The synthesized assemblies under `root`, at most `depth` directories down (a test's temp
 * dir usually holds its assembly one level down, `<mkdtemp>/cdk.out`), as paths relative to
 * `root`. An assembly's own subdirectories (asset.*) are not searched.
 */
export const assembliesUnder = (root: string, depth = 2): string[] => {
  const found: string[] = [];
  const walk = (dir: string, rel: string, left: number) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) continue;
      const relPath = rel ? `${rel}/${name}` : name;
      if (isAssembly(path, name)) found.push(relPath);
      else if (left > 1) walk(path, relPath, left - 1);
    }
  };
  walk(root, '', depth);
  return found.sort();
};
