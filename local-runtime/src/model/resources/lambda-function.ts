import path from 'node:path';
import { asString, physicalName, type ResourceType } from '../resource-type.js';

export const lambdaFunction: ResourceType = {
  type: 'AWS::Lambda::Function',
  phase: 1,
  localEffect: true,
  physical(id, r, ctx) {
    const name = ctx.explicitName(r, 'FunctionName') ?? physicalName(ctx.stackName, id, 64);
    return { ref: name, attrs: { Arn: ctx.arn('lambda', `function:${name}`) } };
  },
  extract(id, r, p, phys, { model, layerDirs, assetDir }) {
    const runtime = String(p.Runtime ?? '');
    const codeDir = assetDir(r, p.Code as Record<string, unknown> | undefined);
    let notRunnable: string | undefined;
    if (!runtime.startsWith('nodejs')) {
      notRunnable = `runtime "${runtime || p.PackageType}" cannot run locally (Node.js runtimes only)`;
    } else if (!codeDir) {
      notRunnable = 'code is not a CDK asset directory in the cloud assembly';
    }
    const env = ((p.Environment as { Variables?: Record<string, unknown> })?.Variables ??
      {}) as Record<string, unknown>;
    const layerBinDirs = ((p.Layers as string[]) ?? []).flatMap((layerArn) => {
      const dir = layerDirs.get(layerArn);
      return dir ? [path.join(dir, 'bin')] : [];
    });
    model.functions.push({
      logicalId: id,
      name: phys.ref,
      arn: phys.attrs.Arn,
      runtime,
      handler: String(p.Handler ?? 'index.handler'),
      codeDir,
      environment: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, asString(v)])),
      timeoutSeconds: Number(p.Timeout ?? 3),
      memoryMb: Number(p.MemorySize ?? 128),
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-ephemeralstorage.html
      ephemeralStorageMiB: Number((p.EphemeralStorage as { Size?: unknown })?.Size ?? 512),
      reservedConcurrency:
        p.ReservedConcurrentExecutions === undefined
          ? undefined
          : Number(p.ReservedConcurrentExecutions),
      layerBinDirs,
      deadLetterTargetArn: (p.DeadLetterConfig as { TargetArn?: string } | undefined)?.TargetArn,
      notRunnable,
    });
  },
};

/** FunctionName may be a name, a full ARN or a partial ARN; keep the part that is a name. */
export function functionNameFrom(nameOrArn: string): string {
  const m = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(nameOrArn);
  if (m) return m[1];
  const partial = /^(?:[0-9]{12}:)?function:([^:]+)/.exec(nameOrArn);
  if (partial) return partial[1];
  return nameOrArn.split(':')[0];
}
