/**
 * Distributed Map for the local runtime. aws-local-stepfunctions 3.0.0 runs a
 * DISTRIBUTED Map as an inline one and ignores ItemReader, ItemBatcher,
 * ResultWriter and ToleratedFailure*, so each such state is rewritten into a Task
 * whose local handler is the Map Run below. The Task keeps the state's InputPath,
 * ResultSelector, ResultPath, OutputPath, Retry, Catch and transition, so the
 * interpreter still applies them exactly as it does for any state.
 *
 * Pure pieces (rewrite, batching, tolerance, result files) are exported for unit
 * tests; the Map Run itself gets its I/O (S3, child executions) injected.
 */

/** Resource of the Task that stands for a rewritten Distributed Map state. */
export const DISTRIBUTED_MAP_RESOURCE = 'local:states:distributed-map';

/** AWS's default (and maximum) concurrency of a Map Run's child executions. */
export const DEFAULT_MAX_CONCURRENCY = 10_000;

/**
 * The stand-in Task's timeout: without one the interpreter applies 60 s, far too
 * short for a Map Run. 20 days: the interpreter uses setTimeout, whose delay
 * overflows (and fires at once) past 2^31 ms, about 24.8 days.
 */
export const MAP_RUN_TASK_TIMEOUT_SECONDS = 20 * 24 * 3600;

type Json = Record<string, unknown>;

export interface ItemReaderSpec {
  Resource: string;
  ReaderConfig?: {
    InputType?: string;
    CSVHeaderLocation?: string;
    CSVHeaders?: string[];
    CSVDelimiter?: string;
    MaxItems?: number;
    MaxItemsPath?: string;
  };
  Parameters?: Json;
  /** JSONata's Parameters. */
  Arguments?: Json;
}

export interface ItemBatcherSpec {
  MaxItemsPerBatch?: number;
  MaxItemsPerBatchPath?: string;
  MaxInputBytesPerBatch?: number;
  MaxInputBytesPerBatchPath?: string;
  BatchInput?: Json;
}

export interface ResultWriterSpec {
  Resource?: string;
  Parameters?: Json;
  /** JSONata's Parameters. */
  Arguments?: Json;
  WriterConfig?: { OutputType?: 'JSON' | 'JSONL'; Transformation?: Transformation };
}

export type Transformation = 'NONE' | 'COMPACT' | 'FLATTEN';

/** The original Distributed Map state, as written in the definition. */
export interface DistributedMapState {
  Type: 'Map';
  Label?: string;
  QueryLanguage?: string;
  ItemsPath?: string;
  /** JSONata: the items (an array or an expression). */
  Items?: unknown;
  ItemReader?: ItemReaderSpec;
  ItemSelector?: Json;
  ItemBatcher?: ItemBatcherSpec;
  ResultWriter?: ResultWriterSpec;
  MaxConcurrency?: number;
  MaxConcurrencyPath?: string;
  ToleratedFailurePercentage?: number;
  ToleratedFailurePercentagePath?: string;
  ToleratedFailureCount?: number;
  ToleratedFailureCountPath?: string;
  ItemProcessor: {
    ProcessorConfig?: { Mode?: string; ExecutionType?: string };
    StartAt: string;
    States: Json;
  };
  [field: string]: unknown;
}

export interface RewrittenMap {
  /** The state's name: the Map Run's label unless `Label` is set. */
  stateName: string;
  /** Its query language: its own `QueryLanguage`, else the machine's. */
  language: 'JSONata' | 'JSONPath';
  state: DistributedMapState;
  /** The child workflow, its own Distributed Maps rewritten too. */
  processor: { StartAt: string; States: Json };
}

/** Fields of a Map state that a Task state carries with the same meaning. */
const KEPT_FIELDS = [
  'Comment',
  'QueryLanguage',
  'Output',
  'Assign',
  'InputPath',
  'OutputPath',
  'ResultPath',
  'ResultSelector',
  'Retry',
  'Catch',
  'Next',
  'End',
] as const;

const isDistributed = (s: Json): s is DistributedMapState =>
  s.Type === 'Map' &&
  (s.ItemProcessor as DistributedMapState['ItemProcessor'] | undefined)?.ProcessorConfig?.Mode ===
    'DISTRIBUTED';

/**
 * Replaces every Distributed Map state (at any depth) by a Task the service runs
 * itself. Returns the rewritten definition and, per Task resource, the original.
 */
export function rewriteDistributedMaps(definition: Json): {
  definition: Json;
  maps: Map<string, RewrittenMap>;
} {
  const maps = new Map<string, RewrittenMap>();
  // Nested states fall back to the machine's QueryLanguage, a child workflow's too.
  const machineLanguage = definition.QueryLanguage as string | undefined;
  const rewrite = (def: Json, where: string): Json => {
    const states: Json = {};
    for (const [name, raw] of Object.entries((def.States ?? {}) as Record<string, Json>)) {
      const at = where ? `${where}/${name}` : name;
      if (isDistributed(raw)) {
        const resource = `${DISTRIBUTED_MAP_RESOURCE}:${at}`;
        // A child runs as a workflow of its own: ProcessorConfig is no top-level field.
        const { ProcessorConfig: _config, ...processor } = raw.ItemProcessor;
        const language = raw.QueryLanguage ?? machineLanguage;
        maps.set(resource, {
          stateName: name,
          language: language === 'JSONata' ? 'JSONata' : 'JSONPath',
          state: raw,
          processor: rewrite(
            machineLanguage ? { QueryLanguage: machineLanguage, ...processor } : processor,
            at
          ) as RewrittenMap['processor'],
        });
        const task: Json = {
          Type: 'Task',
          Resource: resource,
          TimeoutSeconds: MAP_RUN_TASK_TIMEOUT_SECONDS,
        };
        for (const f of KEPT_FIELDS) if (f in raw) task[f] = raw[f];
        states[name] = task;
        continue;
      }
      const s: Json = { ...raw };
      const processorKey = 'ItemProcessor' in s ? 'ItemProcessor' : 'Iterator';
      if (s[processorKey]) s[processorKey] = rewrite(s[processorKey] as Json, at);
      if (Array.isArray(s.Branches)) s.Branches = s.Branches.map((b: Json) => rewrite(b, at));
      states[name] = s;
    }
    return { ...def, States: states };
  };
  return { definition: rewrite(definition, ''), maps };
}

export interface Batch {
  /** Indexes of the items in this child execution (one unless batched). */
  indexes: number[];
  /** The child execution's input. */
  input: unknown;
}

const byteLength = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

/**
 * Groups selected items into child inputs `{ Items, BatchInput? }` bounded by item
 * count and serialized size, as ItemBatcher does. An item that alone exceeds the
 * byte bound cannot be sent at all: that is an error, not a silent drop.
 */
export function batchItems(
  items: readonly unknown[],
  limits: { maxItems?: number; maxBytes?: number; batchInput?: unknown } | undefined
): Batch[] {
  if (!limits) return items.map((input, i) => ({ indexes: [i], input }));
  const maxItems = limits.maxItems ?? Number.POSITIVE_INFINITY;
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  const wrap = (batch: unknown[]) =>
    limits.batchInput === undefined
      ? { Items: batch }
      : { BatchInput: limits.batchInput, Items: batch };
  const out: Batch[] = [];
  let current: { indexes: number[]; items: unknown[] } = { indexes: [], items: [] };
  const flush = () => {
    if (current.items.length > 0)
      out.push({ indexes: current.indexes, input: wrap(current.items) });
    current = { indexes: [], items: [] };
  };
  items.forEach((item, i) => {
    const candidate = [...current.items, item];
    if (
      current.items.length > 0 &&
      (candidate.length > maxItems || byteLength(wrap(candidate)) > maxBytes)
    ) {
      flush();
    }
    if (byteLength(wrap([item])) > maxBytes) {
      throw new Error(
        `item ${i} is ${byteLength(wrap([item]))} bytes as a batch, over MaxInputBytesPerBatch (${maxBytes})`
      );
    }
    current.indexes.push(i);
    current.items.push(item);
  });
  flush();
  return out;
}

export interface Tolerance {
  count?: number;
  percentage?: number;
}

/**
 * Whether `failed` of `total` items breaks the tolerance. With neither bound set
 * AWS tolerates nothing; with both, exceeding either one fails the Map Run.
 */
export function exceedsTolerance(failed: number, total: number, t: Tolerance): boolean {
  if (t.count === undefined && t.percentage === undefined) return failed > 0;
  if (t.count !== undefined && failed > t.count) return true;
  return t.percentage !== undefined && total > 0 && (failed * 100) / total > t.percentage;
}

/** One child execution as ResultWriter reports it (Transformation NONE). */
export interface ChildRecord {
  ExecutionArn: string;
  Name: string;
  StateMachineArn: string;
  Status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  Input: string;
  InputDetails: { Included: true };
  Output?: string;
  OutputDetails?: { Included: true };
  Error?: string;
  Cause?: string;
  RedriveCount: number;
  RedriveStatus: 'NOT_REDRIVABLE' | 'REDRIVABLE';
  RedriveStatusReason?: string;
  StartDate: string;
  StopDate: string;
}

export interface ResultFile {
  key: string;
  body: string;
}

/**
 * The objects ResultWriter writes for one Map Run: `<prefix>/<mapRunId>/` then one
 * file per non-empty outcome (`SUCCEEDED_0.json`, `FAILED_0.json`, `PENDING_0.json`)
 * and `manifest.json` listing them with their sizes.
 */
export function resultFiles(args: {
  bucket: string;
  prefix: string;
  mapRunArn: string;
  succeeded: ChildRecord[];
  failed: ChildRecord[];
  /** Inputs of the items whose child never started (the Map Run failed first). */
  pending: unknown[];
  outputType: 'JSON' | 'JSONL';
  transformation: Transformation;
}): { files: ResultFile[]; manifestKey: string } {
  const mapRunId = args.mapRunArn.slice(args.mapRunArn.lastIndexOf(':') + 1);
  const base = [args.prefix.replace(/\/+$/, ''), mapRunId].filter((p) => p !== '').join('/');
  const ext = args.outputType === 'JSONL' ? 'jsonl' : 'json';
  const serialize = (entries: unknown[]) =>
    args.outputType === 'JSONL'
      ? entries.map((e) => `${JSON.stringify(e)}\n`).join('')
      : JSON.stringify(entries);
  // Failed children are always written whole: only successes are transformed.
  const succeeded = transformOutputs(args.succeeded, args.transformation);
  const groups: Array<[keyof Manifest['ResultFiles'], unknown[]]> = [
    ['FAILED', args.failed],
    ['PENDING', args.pending.map((input) => ({ Input: JSON.stringify(input), Status: 'PENDING' }))],
    ['SUCCEEDED', succeeded],
  ];
  const files: ResultFile[] = [];
  const manifest: Manifest = {
    DestinationBucket: args.bucket,
    MapRunArn: args.mapRunArn,
    ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: [] },
  };
  for (const [status, entries] of groups) {
    if (entries.length === 0) continue;
    const key = `${base}/${status}_0.${ext}`;
    const body = serialize(entries);
    files.push({ key, body });
    manifest.ResultFiles[status].push({ Key: key, Size: Buffer.byteLength(body, 'utf8') });
  }
  const manifestKey = `${base}/manifest.json`;
  files.push({ key: manifestKey, body: JSON.stringify(manifest) });
  return { files, manifestKey };
}

interface Manifest {
  DestinationBucket: string;
  MapRunArn: string;
  ResultFiles: Record<'FAILED' | 'PENDING' | 'SUCCEEDED', Array<{ Key: string; Size: number }>>;
}

/** NONE keeps the metadata; COMPACT keeps outputs; FLATTEN also spreads array outputs. */
export function transformOutputs(records: ChildRecord[], t: Transformation): unknown[] {
  if (t === 'NONE') return records;
  const outputs = records.map((r) => (r.Output === undefined ? null : JSON.parse(r.Output)));
  return t === 'FLATTEN' ? outputs.flatMap((o) => (Array.isArray(o) ? o : [o])) : outputs;
}

/** Parses the body ItemReader got from S3 (JSON array or JSON Lines) into items. */
export function parseItems(body: string, inputType: string, where: string): unknown[] {
  if (inputType === 'JSONL') {
    return body
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, i) => {
        try {
          return JSON.parse(line);
        } catch (err) {
          throw new Error(`${where}: line ${i + 1} is not JSON (${(err as Error).message})`);
        }
      });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new Error(`${where} is not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) {
    throw new Error(
      `${where} must hold a JSON array, found ${parsed === null ? 'null' : typeof parsed}`
    );
  }
  return parsed;
}
