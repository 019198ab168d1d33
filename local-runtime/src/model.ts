import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CfnResource, LoadedStack } from './assembly.js';
import {
  LocalRuntimeError,
  UnsupportedFeatureError,
  UnsupportedResourceError,
  UnsupportedResourcesError,
} from './errors.js';
import { evalCondition, type ResolveContext, resolve } from './intrinsics.js';

export const ACCOUNT_ID = '000000000000';

/**
 * Types that exist only for permissions, encryption, observability or deployment
 * plumbing. Creating them locally would change nothing observable, so they are
 * accepted on purpose (and reported once) instead of silently skipped.
 */
export const NO_LOCAL_EFFECT_TYPES = new Set([
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::KMS::Key',
  'AWS::KMS::Alias',
  'AWS::Logs::LogGroup',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::CloudWatch::Alarm',
  'AWS::Lambda::Permission',
  'AWS::CDK::Metadata',
  // CDK adds these for `autoDeleteObjects` / `logRetention`; they only matter on teardown/retention.
  'Custom::S3AutoDeleteObjects',
  'Custom::LogRetention',
]);

export const SUPPORTED_TYPES = new Set([
  'AWS::S3::Bucket',
  'AWS::SNS::Topic',
  'AWS::SNS::Subscription',
  'AWS::SQS::Queue',
  'AWS::Lambda::Function',
  'AWS::Lambda::LayerVersion',
  'AWS::Lambda::EventSourceMapping',
  'AWS::StepFunctions::StateMachine',
  'Custom::S3BucketNotifications',
]);

export interface QueueSpec {
  logicalId: string;
  name: string;
  arn: string;
  url: string;
  attributes: Record<string, string>;
  deadLetterTargetArn?: string;
}
export interface TopicSpec {
  logicalId: string;
  name: string;
  arn: string;
  attributes: Record<string, string>;
}
export interface SubscriptionSpec {
  logicalId: string;
  topicArn: string;
  queueArn: string;
  attributes: Record<string, string>;
}
export type NotificationTarget =
  | { kind: 'topic'; arn: string }
  | { kind: 'queue'; arn: string }
  | { kind: 'lambda'; arn: string };
export interface NotificationRule {
  id: string;
  events: string[];
  prefix?: string;
  suffix?: string;
  target: NotificationTarget;
}
export interface BucketSpec {
  logicalId: string;
  name: string;
  arn: string;
  notifications: NotificationRule[];
}
export interface FunctionSpec {
  logicalId: string;
  name: string;
  arn: string;
  runtime: string;
  handler: string;
  codeDir?: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  reservedConcurrency?: number;
  layerBinDirs: string[];
  /** Set when the function cannot run here (non-Node runtime, inline code): invoking it fails with this reason. */
  notRunnable?: string;
}
export interface EventSourceMappingSpec {
  logicalId: string;
  queueArn: string;
  functionName: string;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  maxConcurrency?: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
}
export interface StateMachineSpec {
  logicalId: string;
  name: string;
  arn: string;
  type: string;
  definition: Record<string, unknown>;
}
export interface StackModel {
  stackName: string;
  region: string;
  accountId: string;
  endpoint: string;
  queues: QueueSpec[];
  topics: TopicSpec[];
  subscriptions: SubscriptionSpec[];
  buckets: BucketSpec[];
  functions: FunctionSpec[];
  eventSourceMappings: EventSourceMappingSpec[];
  stateMachines: StateMachineSpec[];
  outputs: Record<string, string>;
  noLocalEffect: Array<{ logicalId: string; type: string }>;
}

interface Physical {
  ref: string;
  attrs: Record<string, string>;
}

/** Deterministic, readable stand-in for CloudFormation's `<stack>-<id>-<random>` names. */
function physicalName(stack: string, logicalId: string, max: number, lower = false): string {
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

function asString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export interface BuildModelOptions {
  region: string;
  endpoint: string;
  parameters?: Record<string, string>;
}

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
    .filter(([, r]) => !SUPPORTED_TYPES.has(r.Type) && !NO_LOCAL_EFFECT_TYPES.has(r.Type))
    .map(([id, r]) => new UnsupportedResourceError(r.Type, id));
  if (unsupported.length === 1) throw unsupported[0];
  if (unsupported.length > 1) throw new UnsupportedResourcesError(unsupported);

  const arn = (service: string, rest: string) =>
    `arn:aws:${service}:${region}:${ACCOUNT_ID}:${rest}`;
  const host = endpoint.replace(/\/$/, '');
  const props = (r: CfnResource) => (r.Properties ?? {}) as Record<string, unknown>;
  // Names may themselves be intrinsics (rare, but e.g. Fn::Join with the stack name).
  const explicitName = (r: CfnResource, key: string) => {
    const v = props(r)[key];
    return v === undefined ? undefined : String(resolve(v, ctx));
  };

  for (const [id, r] of active) {
    switch (r.Type) {
      case 'AWS::SQS::Queue': {
        const fifo = props(r).FifoQueue === true || props(r).FifoQueue === 'true';
        const base = explicitName(r, 'QueueName') ?? physicalName(stackName, id, fifo ? 75 : 80);
        const name = fifo && !base.endsWith('.fifo') ? `${base}.fifo` : base;
        const url = `${host}/${ACCOUNT_ID}/${name}`;
        const a = arn('sqs', name);
        physical.set(id, { ref: url, attrs: { Arn: a, QueueName: name, QueueUrl: url } });
        break;
      }
      case 'AWS::SNS::Topic': {
        const name = explicitName(r, 'TopicName') ?? physicalName(stackName, id, 256);
        const a = arn('sns', name);
        physical.set(id, { ref: a, attrs: { TopicArn: a, TopicName: name } });
        break;
      }
      case 'AWS::S3::Bucket': {
        const name = explicitName(r, 'BucketName') ?? physicalName(stackName, id, 63, true);
        physical.set(id, {
          ref: name,
          attrs: {
            Arn: `arn:aws:s3:::${name}`,
            DomainName: `${name}.s3.amazonaws.com`,
            RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
            WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
          },
        });
        break;
      }
      case 'AWS::Lambda::Function': {
        const name = explicitName(r, 'FunctionName') ?? physicalName(stackName, id, 64);
        physical.set(id, { ref: name, attrs: { Arn: arn('lambda', `function:${name}`) } });
        break;
      }
      case 'AWS::Lambda::LayerVersion': {
        const name = explicitName(r, 'LayerName') ?? physicalName(stackName, id, 64);
        const a = arn('lambda', `layer:${name}:1`);
        physical.set(id, { ref: a, attrs: { LayerVersionArn: a } });
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const name = explicitName(r, 'StateMachineName') ?? id;
        const a = arn('states', `stateMachine:${name}`);
        physical.set(id, { ref: a, attrs: { Arn: a, Name: name } });
        break;
      }
      case 'AWS::SNS::Subscription':
        physical.set(id, { ref: arn('sns', `subscription:${id}`), attrs: {} });
        break;
      case 'AWS::Lambda::EventSourceMapping':
        physical.set(id, {
          ref: `esm-${id}`,
          attrs: { EventSourceMappingArn: arn('lambda', `event-source-mapping:${id}`) },
        });
        break;
      case 'AWS::IAM::Role':
        physical.set(id, {
          ref: physicalName(stackName, id, 64),
          attrs: {
            Arn: `arn:aws:iam::${ACCOUNT_ID}:role/${physicalName(stackName, id, 64)}`,
            RoleId: id,
          },
        });
        break;
      case 'AWS::KMS::Key':
        physical.set(id, { ref: id, attrs: { Arn: arn('kms', `key/${id}`), KeyId: id } });
        break;
      case 'AWS::Logs::LogGroup': {
        const name = explicitName(r, 'LogGroupName') ?? `/local/${stackName}/${id}`;
        physical.set(id, { ref: name, attrs: { Arn: arn('logs', `log-group:${name}:*`) } });
        break;
      }
      default:
        physical.set(id, { ref: id, attrs: { Arn: arn('local', id) } });
    }
  }

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
    outputs: {},
    noLocalEffect: [],
  };
  const layerDirs = new Map<string, string>();
  const bucketsByName = new Map<string, BucketSpec>();
  const pendingCustomNotifications: Array<[string, Record<string, unknown>]> = [];
  const featureErrors: string[] = [];

  const assetDir = (r: CfnResource, code: Record<string, unknown> | undefined) => {
    const metaPath = r.Metadata?.['aws:asset:path'];
    if (typeof metaPath === 'string') return path.resolve(assemblyDir, metaPath);
    // Without asset metadata (cdk synth --no-asset-metadata) the S3 key is still `<hash>.zip`.
    const key = code?.S3Key;
    if (typeof key === 'string') {
      const dir = path.join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
      if (existsSync(dir)) return dir;
    }
    return undefined;
  };

  // Layers first: functions refer to them by ARN.
  for (const [id, r] of active) {
    if (r.Type !== 'AWS::Lambda::LayerVersion') continue;
    const dir = assetDir(r, props(r).Content as Record<string, unknown>);
    if (dir) layerDirs.set(physical.get(id)!.ref, dir);
  }

  for (const [id, r] of active) {
    if (NO_LOCAL_EFFECT_TYPES.has(r.Type)) {
      model.noLocalEffect.push({ logicalId: id, type: r.Type });
      continue;
    }
    const p = resolve(props(r), ctx) as Record<string, unknown>;
    const phys = physical.get(id)!;
    switch (r.Type) {
      case 'AWS::SQS::Queue': {
        const attributes: Record<string, string> = {};
        for (const key of [
          'VisibilityTimeout',
          'MessageRetentionPeriod',
          'DelaySeconds',
          'MaximumMessageSize',
          'ReceiveMessageWaitTimeSeconds',
          'FifoQueue',
          'ContentBasedDeduplication',
          'DeduplicationScope',
          'FifoThroughputLimit',
        ]) {
          if (p[key] !== undefined) attributes[key] = asString(p[key]);
        }
        const redrive = p.RedrivePolicy as
          | { deadLetterTargetArn?: string; maxReceiveCount?: number }
          | undefined;
        if (redrive) attributes.RedrivePolicy = JSON.stringify(redrive);
        model.queues.push({
          logicalId: id,
          name: phys.attrs.QueueName,
          arn: phys.attrs.Arn,
          url: phys.ref,
          attributes,
          deadLetterTargetArn: redrive?.deadLetterTargetArn,
        });
        break;
      }
      case 'AWS::SNS::Topic': {
        const attributes: Record<string, string> = {};
        for (const key of ['DisplayName', 'FifoTopic', 'ContentBasedDeduplication']) {
          if (p[key] !== undefined) attributes[key] = asString(p[key]);
        }
        model.topics.push({ logicalId: id, name: phys.attrs.TopicName, arn: phys.ref, attributes });
        // Inline `Subscription` list on the topic is the older CFN shape; treat it like separate subscriptions.
        for (const [i, s] of ((p.Subscription as Array<Record<string, string>>) ?? []).entries()) {
          if (s.Protocol !== 'sqs') {
            throw new UnsupportedResourceError(
              r.Type,
              id,
              `subscription protocol "${s.Protocol}" (only sqs is delivered locally)`
            );
          }
          model.subscriptions.push({
            logicalId: `${id}.Subscription${i}`,
            topicArn: phys.ref,
            queueArn: s.Endpoint,
            attributes: {},
          });
        }
        break;
      }
      case 'AWS::SNS::Subscription': {
        if (p.Protocol !== 'sqs') {
          throw new UnsupportedResourceError(
            r.Type,
            id,
            `protocol "${String(p.Protocol)}" (only sqs is delivered locally)`
          );
        }
        const attributes: Record<string, string> = {};
        for (const key of ['RawMessageDelivery', 'FilterPolicyScope']) {
          if (p[key] !== undefined) attributes[key] = asString(p[key]);
        }
        if (p.FilterPolicy !== undefined) attributes.FilterPolicy = asString(p.FilterPolicy);
        if (p.RedrivePolicy !== undefined) attributes.RedrivePolicy = asString(p.RedrivePolicy);
        model.subscriptions.push({
          logicalId: id,
          topicArn: String(p.TopicArn),
          queueArn: String(p.Endpoint),
          attributes,
        });
        break;
      }
      case 'AWS::S3::Bucket': {
        const bucket: BucketSpec = {
          logicalId: id,
          name: phys.ref,
          arn: phys.attrs.Arn,
          notifications: notificationRules(p.NotificationConfiguration, nativeShape),
        };
        model.buckets.push(bucket);
        bucketsByName.set(bucket.name, bucket);
        break;
      }
      case 'Custom::S3BucketNotifications':
        pendingCustomNotifications.push([id, p]);
        break;
      case 'AWS::Lambda::Function': {
        const runtime = String(p.Runtime ?? '');
        const code = p.Code as Record<string, unknown> | undefined;
        const codeDir = assetDir(r, code);
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
          reservedConcurrency:
            p.ReservedConcurrentExecutions === undefined
              ? undefined
              : Number(p.ReservedConcurrentExecutions),
          layerBinDirs,
          notRunnable,
        });
        break;
      }
      case 'AWS::Lambda::LayerVersion':
        break;
      case 'AWS::Lambda::EventSourceMapping': {
        const source = String(p.EventSourceArn ?? '');
        if (!source.startsWith('arn:aws:sqs:')) {
          throw new UnsupportedResourceError(
            r.Type,
            id,
            `event source ${source} (only SQS queues are polled locally)`
          );
        }
        const scaling = p.ScalingConfig as { MaximumConcurrency?: number } | undefined;
        model.eventSourceMappings.push({
          logicalId: id,
          queueArn: source,
          // FunctionName may be a name, a full ARN or a partial ARN; keep the last segment that is a name.
          functionName: functionNameFrom(String(p.FunctionName)),
          batchSize: Number(p.BatchSize ?? 10),
          maxBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
          maxConcurrency: scaling?.MaximumConcurrency,
          reportBatchItemFailures: ((p.FunctionResponseTypes as string[]) ?? []).includes(
            'ReportBatchItemFailures'
          ),
          enabled: p.Enabled === undefined ? true : p.Enabled === true || p.Enabled === 'true',
        });
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        if (p.DefinitionS3Location) {
          throw new UnsupportedResourceError(
            r.Type,
            id,
            'DefinitionS3Location (use DefinitionString)'
          );
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
        featureErrors.push(...unsupportedAslFeatures(definition).map((f) => `${id}: ${f}`));
        model.stateMachines.push({
          logicalId: id,
          name: phys.attrs.Name,
          arn: phys.ref,
          type: String(p.StateMachineType ?? 'STANDARD'),
          definition,
        });
        break;
      }
    }
  }

  for (const [id, p] of pendingCustomNotifications) {
    const bucket = bucketsByName.get(String(p.BucketName));
    if (!bucket) {
      throw new UnsupportedResourceError(
        'Custom::S3BucketNotifications',
        id,
        `bucket ${String(p.BucketName)} is not in this stack`
      );
    }
    bucket.notifications.push(...notificationRules(p.NotificationConfiguration, apiShape));
  }

  if (featureErrors.length > 0) {
    throw new UnsupportedFeatureError(
      `State machine features the local interpreter would silently ignore:\n  ${featureErrors.join('\n  ')}`
    );
  }

  for (const [key, out] of Object.entries(template.Outputs ?? {})) {
    if (out.Condition && !ctx.condition(out.Condition)) continue;
    model.outputs[key] = asString(resolve(out.Value, ctx));
  }
  return model;
}

export function functionNameFrom(nameOrArn: string): string {
  const m = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(nameOrArn);
  if (m) return m[1];
  const partial = /^(?:[0-9]{12}:)?function:([^:]+)/.exec(nameOrArn);
  if (partial) return partial[1];
  return nameOrArn.split(':')[0];
}

function keyFilter(rules: KeyFilterRules) {
  const out: { prefix?: string; suffix?: string } = {};
  for (const rule of rules ?? []) {
    const name = String(rule.Name).toLowerCase();
    if (name === 'prefix') out.prefix = rule.Value;
    if (name === 'suffix') out.suffix = rule.Value;
  }
  return out;
}

type KeyFilterRules = Array<{ Name?: string; Value?: string }> | undefined;

/**
 * Where one shape of bucket notification configuration keeps each field: per target
 * kind, the key of its list and the key of the target ARN in each entry.
 */
interface NotificationShape {
  lists: Record<NotificationTarget['kind'], { list: string; arn: string }>;
  id(entry: Record<string, unknown>, kind: NotificationTarget['kind'], index: number): string;
  events(entry: Record<string, unknown>): string[];
  filterRules(entry: Record<string, unknown>): KeyFilterRules;
}

/** CloudFormation's AWS::S3::Bucket NotificationConfiguration shape (singular Event, Topic/Queue/Function). */
const nativeShape: NotificationShape = {
  lists: {
    topic: { list: 'TopicConfigurations', arn: 'Topic' },
    queue: { list: 'QueueConfigurations', arn: 'Queue' },
    lambda: { list: 'LambdaConfigurations', arn: 'Function' },
  },
  id: (_entry, kind, i) => `${kind}-${i}`,
  events: (n) => [String(n.Event)],
  filterRules: (n) =>
    (n.Filter as { S3Key?: { Rules?: KeyFilterRules } } | undefined)?.S3Key?.Rules,
};

/** S3 API shape used by CDK's Custom::S3BucketNotifications (Events[], TopicArn/QueueArn/LambdaFunctionArn). */
const apiShape: NotificationShape = {
  lists: {
    topic: { list: 'TopicConfigurations', arn: 'TopicArn' },
    queue: { list: 'QueueConfigurations', arn: 'QueueArn' },
    lambda: { list: 'LambdaFunctionConfigurations', arn: 'LambdaFunctionArn' },
  },
  id: (n, kind, i) => String(n.Id ?? `${kind}-${i}`),
  events: (n) => (n.Events as string[]) ?? [],
  filterRules: (n) =>
    (n.Filter as { Key?: { FilterRules?: KeyFilterRules } } | undefined)?.Key?.FilterRules,
};

/** One rule per configuration entry: topics first, then queues, then functions. */
function notificationRules(config: unknown, shape: NotificationShape): NotificationRule[] {
  if (!config) return [];
  const c = config as Record<string, Array<Record<string, unknown>> | undefined>;
  const rules: NotificationRule[] = [];
  for (const kind of ['topic', 'queue', 'lambda'] as const) {
    const { list, arn } = shape.lists[kind];
    for (const [i, n] of (c[list] ?? []).entries()) {
      rules.push({
        id: shape.id(n, kind, i),
        events: shape.events(n),
        ...keyFilter(shape.filterRules(n)),
        target: { kind, arn: String(n[arn]) },
      });
    }
  }
  return rules;
}

/**
 * aws-local-stepfunctions accepts these and then ignores them, which would make a
 * local run succeed with different semantics than AWS. Failing loudly is safer.
 */
export function unsupportedAslFeatures(def: Record<string, unknown>, where = ''): string[] {
  const problems: string[] = [];
  if (def.QueryLanguage === 'JSONata')
    problems.push(`${where || 'top level'}: QueryLanguage JSONata`);
  const states = (def.States ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, s] of Object.entries(states)) {
    const at = where ? `${where} > ${name}` : name;
    if (s.QueryLanguage === 'JSONata') problems.push(`${at}: QueryLanguage JSONata`);
    for (const field of [
      'ItemReader',
      'ItemBatcher',
      'ResultWriter',
      'ToleratedFailurePercentage',
      'ToleratedFailureCount',
    ]) {
      if (field in s) problems.push(`${at}: ${field}`);
    }
    const processor = (s.ItemProcessor ?? s.Iterator) as Record<string, unknown> | undefined;
    if (processor) {
      const mode = (processor.ProcessorConfig as { Mode?: string } | undefined)?.Mode;
      if (mode === 'DISTRIBUTED') problems.push(`${at}: distributed Map`);
      problems.push(...unsupportedAslFeatures(processor, at));
    }
    for (const branch of (s.Branches as Record<string, unknown>[]) ?? []) {
      problems.push(...unsupportedAslFeatures(branch, at));
    }
    if (s.Type === 'Task') {
      const resource = String(s.Resource ?? '');
      if (!isLambdaResource(resource)) problems.push(`${at}: Task resource ${resource}`);
    }
  }
  return problems;
}

export function isLambdaResource(resource: string): boolean {
  return (
    /^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(resource) ||
    resource === 'arn:aws:states:::lambda:invoke'
  );
}
