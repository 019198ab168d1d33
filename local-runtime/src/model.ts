import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadedStack } from './assembly.js';
import {
  LocalRuntimeError,
  UnsupportedFeatureError,
  UnsupportedResourceError,
  UnsupportedResourcesError,
} from './errors.js';
import { evalCondition, type ResolveContext, resolve } from './intrinsics.js';
import { RESOURCE_TYPES } from './model/registry.js';
import {
  asString,
  type ExtractContext,
  type NamingContext,
  type Physical,
} from './model/resource-type.js';
import type { StackModel } from './model/types.js';

export { functionNameFrom } from './model/resources/lambda-function.js';
export type * from './model/types.js';

/** The account id both emulators (this runtime and LocalStack) report. */
export const EMULATOR_ACCOUNT_ID = '000000000000';
export const ACCOUNT_ID = EMULATOR_ACCOUNT_ID;

/** Accepted types whose resources change nothing observable locally (reported once). */
export const NO_LOCAL_EFFECT_TYPES: ReadonlySet<string> = new Set(
  [...RESOURCE_TYPES.values()].filter((t) => !t.localEffect).map((t) => t.type)
);
/** Types the runtime creates or wires locally. */
export const SUPPORTED_TYPES: ReadonlySet<string> = new Set(
  [...RESOURCE_TYPES.values()].filter((t) => t.localEffect).map((t) => t.type)
);

export interface BuildModelOptions {
  region: string;
  endpoint: string;
  parameters?: Record<string, string>;
  /**
   * Start although some state machines use features the runtime cannot run: those are
   * marked `unsupported` (their executions are refused) instead of failing the start.
   * @default false
   */
  allowPartial?: boolean;
}

/**
 * Reads a synthesized stack into what the runtime starts: names and ARNs for every
 * logical id (so intrinsics resolve), then one spec per resource, each type's
 * logic in its module under model/resources (see model/registry.ts).
 */
export function buildModel(stack: LoadedStack, opts: BuildModelOptions): StackModel {
  const { template, stackName, assemblyDir } = stack;
  const { region, endpoint } = opts;
  const resources = template.Resources ?? {};
  const physical = new Map<string, Physical>();
  const conditionCache = new Map<string, boolean>();

  const pseudo: Record<string, string> = {
    'AWS::Region': region,
    'AWS::AccountId': ACCOUNT_ID,
    'AWS::Partition': 'aws',
    'AWS::StackName': stackName,
    'AWS::StackId': `arn:aws:cloudformation:${region}:${ACCOUNT_ID}:stack/${stackName}/local`,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::NotificationARNs': '',
  };

  const ctx: ResolveContext = {
    region,
    mappings: template.Mappings,
    ref(id) {
      if (id in pseudo) return pseudo[id];
      const p = physical.get(id);
      if (p) return p.ref;
      const param = template.Parameters?.[id];
      if (param) return opts.parameters?.[id] ?? param.Default ?? '';
      throw new LocalRuntimeError(`Ref to unknown logical id "${id}"`);
    },
    getAtt(id, attr) {
      const p = physical.get(id);
      if (!p) throw new LocalRuntimeError(`Fn::GetAtt on unknown logical id "${id}"`);
      if (attr in p.attrs) return p.attrs[attr];
      // Unknown attributes of no-local-effect resources are harmless placeholders.
      return `${p.ref}.${attr}`;
    },
    condition(name) {
      const cached = conditionCache.get(name);
      if (cached !== undefined) return cached;
      const def = template.Conditions?.[name];
      if (def === undefined) throw new LocalRuntimeError(`Unknown condition "${name}"`);
      const v = evalCondition(def, ctx);
      conditionCache.set(name, v);
      return v;
    },
  };

  const active = Object.entries(resources).filter(
    ([, r]) => !r.Condition || ctx.condition(r.Condition)
  );

  // Validate first so a template with an unknown type fails before anything starts.
  const unsupported = active
    .filter(([, r]) => !RESOURCE_TYPES.has(r.Type))
    .map(([id, r]) => new UnsupportedResourceError(r.Type, id));
  if (unsupported.length === 1) throw unsupported[0];
  if (unsupported.length > 1) throw new UnsupportedResourcesError(unsupported);
  const typed = active.map(([id, r]) => ({ id, r, type: RESOURCE_TYPES.get(r.Type)! }));

  const host = endpoint.replace(/\/$/, '');
  const naming: NamingContext = {
    stackName,
    region,
    accountId: ACCOUNT_ID,
    host,
    arn: (service, rest) => `arn:aws:${service}:${region}:${ACCOUNT_ID}:${rest}`,
    explicitName(r, key) {
      const v = r.Properties?.[key];
      return v === undefined ? undefined : String(resolve(v, ctx));
    },
  };
  for (const { id, r, type } of typed) physical.set(id, type.physical(id, r, naming));

  const model: StackModel = {
    stackName,
    region,
    accountId: ACCOUNT_ID,
    endpoint: host,
    queues: [],
    topics: [],
    subscriptions: [],
    buckets: [],
    functions: [],
    eventSourceMappings: [],
    stateMachines: [],
    eventRules: [],
    outputs: {},
    noLocalEffect: [],
  };
  const extract: ExtractContext = {
    model,
    layerDirs: new Map(),
    bucketsByName: new Map(),
    featureErrors: [],
    assetDir(r, code) {
      const metaPath = r.Metadata?.['aws:asset:path'];
      if (typeof metaPath === 'string') return path.resolve(assemblyDir, metaPath);
      // Without asset metadata (cdk synth --no-asset-metadata) the S3 key is still `<hash>.zip`.
      const key = code?.S3Key;
      if (typeof key === 'string') {
        const dir = path.join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
        if (existsSync(dir)) return dir;
      }
      return undefined;
    },
  };

  // Array.prototype.sort is stable: template order within a phase.
  for (const { id, r, type } of [...typed].sort((a, b) => a.type.phase - b.type.phase)) {
    if (!type.localEffect) {
      model.noLocalEffect.push({ logicalId: id, type: r.Type });
      continue;
    }
    const props = resolve(r.Properties ?? {}, ctx) as Record<string, unknown>;
    type.extract?.(id, r, props, physical.get(id)!, extract);
  }

  if (extract.featureErrors.length > 0 && !opts.allowPartial) {
    throw new UnsupportedFeatureError(
      `State machine features the local interpreter would silently ignore:\n  ${extract.featureErrors.join('\n  ')}`
    );
  }

  for (const [key, out] of Object.entries(template.Outputs ?? {})) {
    if (out.Condition && !ctx.condition(out.Condition)) continue;
    model.outputs[key] = asString(resolve(out.Value, ctx));
  }
  return model;
}
