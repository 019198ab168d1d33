import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BundleFigure {
  function: string;
  bundleKB: number;
  usesFfmpeg: boolean;
  /** Our bundle's own module init, with the runtime-provided AWS SDK modules already loaded. */
  coldInitMs: number;
  /** Loading the `@aws-sdk/*` modules the bundle imports (Lambda's runtime provides them). */
  sdkLoadMs: number;
  coldInitRuns: number[];
}

interface TemplateResource {
  Type: string;
  Properties: {
    Handler?: string;
    Layers?: unknown[];
    Environment?: { Variables?: Record<string, unknown> };
  };
  Metadata?: Record<string, string>;
}

/**
 * (c) Bundle size and cold module-init time of each Lambda. Init is measured
 * the way Lambda pays it: a fresh Node process importing the bundle (the
 * runtime's own startup, measured with an empty module, is subtracted).
 */
export const measureBundles = (
  assemblyDir: string,
  stackName: string,
  runs = 5
): BundleFigure[] => {
  const template = JSON.parse(
    readFileSync(join(assemblyDir, `${stackName}.template.json`), 'utf8')
  ) as {
    Resources: Record<string, TemplateResource>;
  };
  const figures: BundleFigure[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function' || !resource.Metadata?.['aws:asset:path'])
      continue;
    const bundle = join(assemblyDir, resource.Metadata['aws:asset:path'], 'index.mjs');
    const sdk = [...new Set(readFileSync(bundle, 'utf8').match(/@aws-sdk\/[a-z0-9-]+/g) ?? [])];
    const samples = Array.from({ length: runs }, () => importMs(bundle, sdk));
    const round = (x: number) => Math.round(x * 10) / 10;
    figures.push({
      function: logicalId.replace(/Function[0-9A-F]{8}$/, ''),
      bundleKB: round(statSync(bundle).size / 1024),
      usesFfmpeg: Boolean(resource.Properties.Layers?.length),
      coldInitMs: round(median(samples.map((x) => x.own))),
      sdkLoadMs: round(median(samples.map((x) => x.sdk))),
      coldInitRuns: samples.map((x) => round(x.own)),
    });
  }
  return figures;
};

/** A fresh process per sample: loads the SDK modules first, then times the bundle's own init. */
const importMs = (bundle: string, sdkModules: string[]): { own: number; sdk: number } => {
  const script = [
    'const t0=performance.now();',
    ...sdkModules.map((m) => `await import(${JSON.stringify(m)});`),
    'const t1=performance.now();',
    `await import(${JSON.stringify(bundle)});`,
    'console.log(JSON.stringify({sdk:t1-t0,own:performance.now()-t1}));',
  ].join('');
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: dirname(bundle),
    env: {
      ...process.env,
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:bench',
      OUTPUT_BUCKET: 'bench',
      AUDIT_BUCKET: 'bench',
      PROCESSED_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:bench',
    },
  });
  if (res.status !== 0) throw new Error(`importing ${bundle} failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim());
};

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
