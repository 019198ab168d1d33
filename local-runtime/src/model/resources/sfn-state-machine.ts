import { unsupportedAslFeatures } from '../../asl-support.js';
import { UnsupportedResourceError } from '../../errors.js';
import { asString, type ResourceType } from '../resource-type.js';

export const sfnStateMachine: ResourceType = {
  type: 'AWS::StepFunctions::StateMachine',
  phase: 1,
  localEffect: true,
  physical(id, r, ctx) {
    const name = ctx.explicitName(r, 'StateMachineName') ?? id;
    const arn = ctx.arn('states', `stateMachine:${name}`);
    return { ref: arn, attrs: { Arn: arn, Name: name } };
  },
  extract(id, r, p, phys, { model, featureErrors }) {
    if (p.DefinitionS3Location) {
      throw new UnsupportedResourceError(r.Type, id, 'DefinitionS3Location (use DefinitionString)');
    }
    let text =
      typeof p.DefinitionString === 'string'
        ? p.DefinitionString
        : JSON.stringify(p.Definition ?? {});
    for (const [k, v] of Object.entries(
      (p.DefinitionSubstitutions ?? {}) as Record<string, unknown>
    )) {
      text = text.split(`\${${k}}`).join(asString(v));
    }
    const definition = JSON.parse(text) as Record<string, unknown>;
    const unsupported = unsupportedAslFeatures(definition);
    featureErrors.push(...unsupported.map((f) => `${id}: ${f}`));
    model.stateMachines.push({
      ...(unsupported.length > 0 && { unsupported }),
      logicalId: id,
      name: phys.attrs.Name,
      arn: phys.ref,
      type: String(p.StateMachineType ?? 'STANDARD'),
      definition,
    });
  },
};
