import type { CfnResource } from '../assembly.js';
import type { BucketSpec, StackModel } from './types.js';

/** What a logical id stands for once "deployed": its Ref value and its Fn::GetAtt attributes. */
export interface Physical {
  ref: string;
  attrs: Record<string, string>;
}

export interface NamingContext {
  stackName: string;
  region: string;
  accountId: string;
  /** The runtime's endpoint, without a trailing slash (queue URLs live there). */
  host: string;
  arn(service: string, rest: string): string;
  /** A name property, resolved: names may themselves be intrinsics (e.g. Fn::Join with the stack name). */
  explicitName(r: CfnResource, key: string): string | undefined;
}

export interface ExtractContext {
  model: StackModel;
  /** Layer ARN -> its asset directory; filled by the layer type before functions run. */
  layerDirs: Map<string, string>;
  bucketsByName: Map<string, BucketSpec>;
  /** ASL features the interpreter would ignore, collected over all state machines. */
  featureErrors: string[];
  /** The CDK asset directory behind a Code/Content property, if it is in the assembly. */
  assetDir(r: CfnResource, code: Record<string, unknown> | undefined): string | undefined;
}

/**
 * One CloudFormation resource type the runtime knows. Register it in registry.ts;
 * a type that is not registered is rejected by name before anything starts.
 */
export interface ResourceType {
  readonly type: string;
  /**
   * Order of `extract` across types (stable within one): 0 runs before 1 (layers,
   * which functions refer to), 2 after (what attaches to resources of other types).
   */
  readonly phase: 0 | 1 | 2;
  /**
   * False for types that only carry permissions, encryption or deployment plumbing:
   * they are accepted, reported once, and their properties are never resolved.
   */
  readonly localEffect: boolean;
  physical(id: string, r: CfnResource, ctx: NamingContext): Physical;
  /** Adds the resource's spec to the model; `props` are resolved. */
  extract?(
    id: string,
    r: CfnResource,
    props: Record<string, unknown>,
    phys: Physical,
    ctx: ExtractContext
  ): void;
}

/** Deterministic, readable stand-in for CloudFormation's `<stack>-<id>-<random>` names. */
export function physicalName(stack: string, logicalId: string, max: number, lower = false): string {
  let name = `${stack}-${logicalId}`;
  if (lower) {
    name = name
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')
      .replace(/-+/g, '-');
  } else {
    name = name.replace(/[^A-Za-z0-9_-]/g, '-');
  }
  return name.slice(0, max).replace(/[-.]+$/, '');
}

export function asString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Physical ids for types whose Ref/GetAtt nothing local depends on. */
export const placeholderPhysical = (id: string, ctx: NamingContext): Physical => ({
  ref: id,
  attrs: { Arn: ctx.arn('local', id) },
});

/** Copies the listed properties, stringified as the service APIs take attributes. */
export function pickAttributes(
  props: Record<string, unknown>,
  keys: string[]
): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const key of keys) if (props[key] !== undefined) attributes[key] = asString(props[key]);
  return attributes;
}
