import { physicalName, type ResourceType } from '../resource-type.js';

export const lambdaLayer: ResourceType = {
  type: 'AWS::Lambda::LayerVersion',
  // Before functions: they refer to layers by ARN.
  phase: 0,
  localEffect: true,
  physical(id, r, ctx) {
    const name = ctx.explicitName(r, 'LayerName') ?? physicalName(ctx.stackName, id, 64);
    const arn = ctx.arn('lambda', `layer:${name}:1`);
    return { ref: arn, attrs: { LayerVersionArn: arn } };
  },
  extract(_id, r, _p, phys, { layerDirs, assetDir }) {
    const dir = assetDir(r, r.Properties?.Content as Record<string, unknown>);
    if (dir) layerDirs.set(phys.ref, dir);
  },
};
