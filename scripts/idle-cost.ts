/**
 * `npm run cost:idle`: what the deployed stack costs per month with no video
 * going through it, and how close the ffmpeg layer is to Lambda's size limit,
 * both read from the synthesized template (cdk.out). It also owns the README's
 * "Before you deploy" table: `npm run cost:idle -- --write-readme` rewrites it,
 * and test/cdk/idle-cost.test.ts fails when the README and this script disagree.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STACK_NAME } from '../contract/index.js';
import { PRICES, PRICES_REGION } from '../lambdas/aggregate/prices.js';
import { REPO_ROOT } from './project.js';

type Prices = typeof PRICES;

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}
export interface CfnTemplate {
  Resources: Record<string, Resource>;
}

export interface IdleLine {
  readonly item: string;
  readonly count: number;
  readonly unitUsd: number;
  readonly monthlyUsd: number;
}

export interface IdleCost {
  readonly lines: readonly IdleLine[];
  readonly totalUsd: number;
  /** Billed while idle but not a fixed figure, so not in the total. */
  readonly notes: readonly string[];
}

const round = (usd: number) => Math.round(usd * 100) / 100;
const ofType = (t: CfnTemplate, type: string) =>
  Object.values(t.Resources).filter((r) => r.Type === type);

/** Seconds in the 30-day month the per-poller figure assumes. */
const MONTH_SECONDS = 30 * 24 * 3600;
/** Lambda's SQS pollers long-poll for 20 s (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). */
const LONG_POLL_SECONDS = 20;

/**
 * The fixed monthly charges of a template's resources: KMS customer managed keys,
 * CloudWatch alarms (per alarm metric, https://aws.amazon.com/cloudwatch/pricing/:
 * a metric-math alarm pays for each metric it reads) and dashboards. Lambda, Step
 * Functions, SNS, SQS, EventBridge and log groups cost nothing without traffic or data.
 */
export function idleCost(template: CfnTemplate, prices: Prices = PRICES): IdleCost {
  const m = prices.monthly;
  const keys = ofType(template, 'AWS::KMS::Key');
  let standard = 0;
  let highRes = 0;
  for (const alarm of ofType(template, 'AWS::CloudWatch::Alarm')) {
    const p = alarm.Properties ?? {};
    const stats = Array.isArray(p.Metrics)
      ? (p.Metrics as Array<{ MetricStat?: { Period?: number } }>)
          .filter((x) => x.MetricStat)
          .map((x) => x.MetricStat?.Period)
      : [p.Period as number | undefined];
    for (const period of stats) {
      if (period !== undefined && period < 60) highRes += 1;
      else standard += 1;
    }
  }
  const dashboards = ofType(template, 'AWS::CloudWatch::Dashboard').length;
  const lines: IdleLine[] = [
    { item: 'KMS customer managed keys', count: keys.length, unitUsd: m.kmsCustomerManagedKey },
    {
      item: 'CloudWatch alarm metrics, standard resolution',
      count: standard,
      unitUsd: m.alarmMetricStandard,
    },
    {
      item: 'CloudWatch alarm metrics, high resolution',
      count: highRes,
      unitUsd: m.alarmMetricHighResolution,
    },
    { item: 'CloudWatch dashboards', count: dashboards, unitUsd: m.dashboard },
  ]
    .filter((l) => l.count > 0)
    .map((l) => ({ ...l, monthlyUsd: round(l.count * l.unitUsd) }));
  const notes: string[] = [];
  const rotating = keys.filter((k) => k.Properties?.EnableKeyRotation === true).length;
  if (rotating > 0) {
    notes.push(
      `Later: ${rotating} of the keys rotate yearly; each rotation adds $${m.kmsCustomerManagedKey} a month per key for the first two, so the keys cost ${rotating}× $${2 * m.kmsCustomerManagedKey} in the second year and ${rotating}× $${3 * m.kmsCustomerManagedKey} from the third`
    );
  }
  const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping').length;
  if (mappings > 0) {
    const perPoller = (MONTH_SECONDS / LONG_POLL_SECONDS) * prices.sqs.request;
    notes.push(
      `Not in the total: ${mappings} SQS event source mappings long-poll while idle, ~${(MONTH_SECONDS / LONG_POLL_SECONDS).toLocaleString('en-US')} requests ($${perPoller.toFixed(2)}) a month per poller; Lambda does not publish how many pollers it keeps per idle mapping`
    );
  }
  return { lines, totalUsd: round(lines.reduce((s, l) => s + l.monthlyUsd, 0)), notes };
}

/** Lambda's limit on a function's unzipped code plus all its layers (250 MB = 262,144,000 bytes). */
export const UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;

const bytesIn = (path: string): number => {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + bytesIn(join(path, name)), 0);
};

export interface LayerSize {
  readonly layerBytes: number;
  /** The largest function that uses the layer: its code plus the layer. */
  readonly largestFunction: string;
  readonly largestBytes: number;
}

/** Sizes the staged (unzipped) assets: the layer, and each function that uses it. */
export function layerSize(template: CfnTemplate, assemblyDir: string): LayerSize {
  // The template names each zip by its asset hash; the assets manifest says where it is staged.
  const manifest = JSON.parse(
    readFileSync(join(assemblyDir, `${STACK_NAME}.assets.json`), 'utf8')
  ) as { files: Record<string, { source: { path: string } }> };
  const assetOf = (r: Resource) => {
    const code = (r.Properties?.Code ?? r.Properties?.Content) as { S3Key?: unknown } | undefined;
    const hash = typeof code?.S3Key === 'string' ? code.S3Key.replace(/\.zip$/, '') : '';
    const staged = manifest.files[hash]?.source.path;
    if (!staged) throw new Error(`no staged asset for S3Key ${String(code?.S3Key)}`);
    return bytesIn(join(assemblyDir, staged));
  };
  const layers = Object.entries(template.Resources).filter(
    ([, r]) => r.Type === 'AWS::Lambda::LayerVersion'
  );
  if (layers.length !== 1) throw new Error(`expected one layer, found ${layers.length}`);
  const [layerId, layer] = layers[0];
  const layerBytes = assetOf(layer);
  let largest = { name: '', bytes: 0 };
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const refs = (r.Properties?.Layers as Array<{ Ref?: string }> | undefined) ?? [];
    if (!refs.some((l) => l.Ref === layerId)) continue;
    const bytes = layerBytes + assetOf(r);
    if (bytes > largest.bytes) largest = { name: id, bytes };
  }
  return { layerBytes, largestFunction: largest.name, largestBytes: largest.bytes };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const usd = (n: number) => `$${n.toFixed(2)}`;

export const README_START =
  '<!-- before-you-deploy: generated by `npm run cost:idle -- --write-readme` -->';
export const README_END = '<!-- /before-you-deploy -->';

/** The README's "Before you deploy" table, from the figures above. */
export function beforeYouDeploy(cost: IdleCost, size: LayerSize): string {
  const costCell = [
    `**${usd(cost.totalUsd)} a month** with no traffic (${PRICES_REGION} list prices from \`contract/prices.ts\`, free tier ignored):`,
    ...cost.lines.map((l) => `${l.count} ${l.item} × ${usd(l.unitUsd)} = ${usd(l.monthlyUsd)}`),
    ...cost.notes.map((n) => `${n}.`),
    'Logs and S3 storage grow with use; Lambda, Step Functions, SNS, SQS and EventBridge bill per request.',
  ].join('<br>');
  const rows: Array<[string, string]> = [
    [
      'Region',
      `The stack is environment-agnostic: \`cdk deploy\` uses your profile's region or \`AWS_REGION\`. The figures below use ${PRICES_REGION} prices; other regions differ.`,
    ],
    [
      'Bootstrap',
      '`npx cdk bootstrap` once per account and region (the assets, including the layer, are uploaded to its staging bucket).',
    ],
    [
      'Credentials',
      '`cdk synth` needs none. `cdk diff` and `cdk deploy` read the deployed stack, so they need credentials for the target account (`AWS_PROFILE` or the usual variables) and the bootstrap stack; `cdk deploy` creates IAM roles, so it asks for approval unless `--require-approval never`.',
    ],
    [
      'Layer size',
      `The ffmpeg layer is ${mb(size.layerBytes)} unzipped; the largest function with it (${size.largestFunction.replace(/[0-9A-F]{8}$/, '')}) is ${mb(size.largestBytes)} of Lambda's 250 MB unzipped limit for code plus layers ([quotas](https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)), ${mb(UNZIPPED_LIMIT_BYTES - size.largestBytes)} to spare.`,
    ],
    ['Idle cost', costCell],
    [
      'Per video',
      'Each manifest carries `estimatedCostUsd`; the model and an example are in [Cost per video](#cost-per-video).',
    ],
  ];
  return [
    README_START,
    '| Before you deploy | |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    README_END,
  ].join('\n');
}

/** The README with its generated block replaced. */
export function withTable(readme: string, table: string): string {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${README_START} … ${README_END} block`);
  return `${readme.slice(0, a)}${table}${readme.slice(b + README_END.length)}`;
}

const main = () => {
  const assemblyDir = join(REPO_ROOT, 'cdk.out');
  const template = JSON.parse(
    readFileSync(join(assemblyDir, `${STACK_NAME}.template.json`), 'utf8')
  ) as CfnTemplate;
  const cost = idleCost(template);
  const size = layerSize(template, assemblyDir);
  for (const l of cost.lines)
    console.log(`${l.item}: ${l.count} × ${usd(l.unitUsd)} = ${usd(l.monthlyUsd)}`);
  console.log(`idle total: ${usd(cost.totalUsd)} a month`);
  for (const n of cost.notes) console.log(`note: ${n}`);
  console.log(
    `layer ${mb(size.layerBytes)}; largest function with it ${size.largestFunction}: ${mb(size.largestBytes)} of ${mb(UNZIPPED_LIMIT_BYTES)}`
  );
  if (process.argv.includes('--write-readme')) {
    const file = join(REPO_ROOT, 'README.md');
    writeFileSync(file, withTable(readFileSync(file, 'utf8'), beforeYouDeploy(cost, size)));
    console.log('README.md: "Before you deploy" rewritten');
  }
};

if (import.meta.url === `file://${process.argv[1]}`) main();
