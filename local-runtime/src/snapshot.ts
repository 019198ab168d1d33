import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A private copy of the cloud assembly, like the assets a real deploy uploads:
 * a later `cdk synth` (or `cdk watch`) replaces cdk.out's asset folders, and a
 * runtime reading them in place would fail mid-run with "Cannot find module".
 * Files are hard-linked, so the 150 MB ffmpeg layer costs nothing to snapshot;
 * where linking is impossible (another filesystem) they are copied.
 */
export const snapshotAssembly = (assemblyDir: string): { dir: string; remove(): void } => {
  const dir = mkdtempSync(path.join(tmpdir(), 'local-runtime-assembly-'));
  const mirror = (from: string, to: string) => {
    for (const entry of readdirSync(from, { withFileTypes: true })) {
      const src = path.join(from, entry.name);
      const dst = path.join(to, entry.name);
      if (entry.isDirectory()) {
        mkdirSync(dst);
        mirror(src, dst);
      } else if (entry.isFile()) {
        try {
          linkSync(src, dst);
        } catch {
          copyFileSync(src, dst);
        }
      }
    }
  };
  mirror(path.resolve(assemblyDir), dir);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
};
