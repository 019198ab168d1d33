import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  type CachedCloudAssembly,
  StackSelectionStrategy,
  type Toolkit,
  ToolkitError,
} from '@aws-cdk/toolkit-lib';
import { STACK_NAME } from '../../contract/stack.js';
import { DeployError } from './errors.js';

interface AssetsManifest {
  files?: Record<string, { displayName?: string; source?: { path?: string } }>;
}

/**
 * File assets of an assembly that point outside it. `cdk synth` stages every bundled asset
 * inside the assembly (`asset.<hash>/`); an assembly written with bundling skipped (`cdk ls`,
 * `cdk diff`, `cdk destroy` into the same directory) points at the raw sources instead, e.g.
 * the whole repo for each NodejsFunction and the npm package directory for the ffmpeg layer,
 * whose custom asset hash is the same as the bundled one. Publishing that uploads the wrong
 * layer under the right key, and later correct deploys skip the upload because the key exists.
 */
export const unstagedAssets = (assetsManifest: AssetsManifest, assemblyDir: string): string[] =>
  Object.entries(assetsManifest.files ?? {})
    .filter(([, f]) => {
      const p = f.source?.path ?? '';
      if (isAbsolute(p)) return true;
      const rel = relative(resolve(assemblyDir), resolve(assemblyDir, p));
      return rel === '' || rel.startsWith('..');
    })
    .map(([hash, f]) => `${f.displayName ?? hash} -> ${f.source?.path}`);

/** Refuses an assembly without the stack's asset manifest, or one synthesized without bundling. */
export const assertBundled = (assemblyDir: string, stackName: string = STACK_NAME): void => {
  const assetsFile = join(assemblyDir, `${stackName}.assets.json`);
  if (!existsSync(assetsFile)) {
    throw new DeployError(`${assetsFile} is missing: is ${assemblyDir} a cloud assembly?`);
  }
  const unstaged = unstagedAssets(JSON.parse(readFileSync(assetsFile, 'utf8')), assemblyDir);
  if (unstaged.length > 0) {
    throw new DeployError(
      `${assemblyDir} was synthesized with bundling skipped (by cdk ls/diff/destroy, or another ` +
        `process writing into it); its assets point outside the assembly:\n    ${unstaged.join('\n    ')}\n` +
        '  Re-run without --reuse-assembly, or set LOCALSTACK_ASSEMBLY_DIR to a directory nothing else writes.'
    );
  }
};

/**
 * Opens the assembly directory for the whole deploy. toolkit-lib's `fromAssemblyDirectory` takes
 * the CDK CLI's reader lock (`read.<pid>.<n>.lock`, after refusing if a live `synth.lock` writer
 * exists) and holds it until the returned assembly is disposed, so a concurrent `cdk synth` into
 * the same directory refuses instead of swapping the assets under the deploy. The caller must
 * call `dispose()`.
 */
export const openAssembly = async (
  toolkit: Toolkit,
  assemblyDir: string,
  stackNames: readonly string[] = [STACK_NAME]
): Promise<CachedCloudAssembly> => {
  if (!existsSync(join(assemblyDir, 'manifest.json'))) {
    throw new DeployError(`${assemblyDir} has no manifest.json: synthesize first (npm run synth)`);
  }
  const source = await toolkit.fromAssemblyDirectory(assemblyDir);
  try {
    // `synth` of an assembly directory reads it (no app runs) and checks the stack is in it.
    return await toolkit.synth(source, {
      stacks: {
        strategy: StackSelectionStrategy.PATTERN_MUST_MATCH,
        patterns: [...stackNames],
      },
    });
  } catch (err) {
    if (ToolkitError.isLockError(err)) {
      throw new DeployError(
        `${(err as Error).message}\n  Retry when it is done, or set LOCALSTACK_ASSEMBLY_DIR to a directory nothing else writes.`
      );
    }
    throw err;
  }
};
