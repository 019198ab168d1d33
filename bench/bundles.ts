import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface BundleFigure {
  function: string;
  bundleKB: number;
  usesFfmpeg: boolean;
  coldInitMs: number;
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
  const baseline = median(Array.from({ length: runs }, () => importMs('data:text/javascript,')));
  const figures: BundleFigure[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function' || !resource.Metadata?.['aws:asset:path'])
      continue;
    const bundle = join(assemblyDir, resource.Metadata['aws:asset:path'], 'index.mjs');
    const samples = Array.from({ length: runs }, () => importMs(bundle) - baseline);
    figures.push({
      function: logicalId.replace(/Function[0-9A-F]{8}$/, ''),
      bundleKB: Math.round((statSync(bundle).size / 1024) * 10) / 10,
      usesFfmpeg: Boolean(resource.Properties.Layers?.length),
      coldInitMs: Math.round(median(samples) * 10) / 10,
      coldInitRuns: samples.map((s) => Math.round(s * 10) / 10),
    });
  }
  return figures;
};

const importMs = (specifier: string): number => {
  const script = `const t=performance.now();await import(${JSON.stringify(specifier)});console.log(performance.now()-t);`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
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
  if (res.status !== 0) throw new Error(`importing ${specifier} failed: ${res.stderr}`);
  return Number(res.stdout.trim());
};

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
