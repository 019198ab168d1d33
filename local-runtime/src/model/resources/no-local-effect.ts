import type { CfnResource } from '../../assembly.js';
import {
  type NamingContext,
  type Physical,
  physicalName,
  placeholderPhysical,
  type ResourceType,
} from '../resource-type.js';

/**
 * Types that exist only for permissions, encryption, observability or deployment
 * plumbing. Creating them locally would change nothing observable, so they are
 * accepted on purpose (and reported once) instead of silently skipped.
 */
export function noLocalEffect(
  type: string,
  physical: (id: string, r: CfnResource, ctx: NamingContext) => Physical = (id, _r, ctx) =>
    placeholderPhysical(id, ctx)
): ResourceType {
  return { type, phase: 1, localEffect: false, physical };
}

export const iamRole = noLocalEffect('AWS::IAM::Role', (id, _r, ctx) => {
  const name = physicalName(ctx.stackName, id, 64);
  return { ref: name, attrs: { Arn: `arn:aws:iam::${ctx.accountId}:role/${name}`, RoleId: id } };
});

export const kmsKey = noLocalEffect('AWS::KMS::Key', (id, _r, ctx) => ({
  ref: id,
  attrs: { Arn: ctx.arn('kms', `key/${id}`), KeyId: id },
}));

export const logGroup = noLocalEffect('AWS::Logs::LogGroup', (id, r, ctx) => {
  const name = ctx.explicitName(r, 'LogGroupName') ?? `/local/${ctx.stackName}/${id}`;
  return { ref: name, attrs: { Arn: ctx.arn('logs', `log-group:${name}:*`) } };
});
