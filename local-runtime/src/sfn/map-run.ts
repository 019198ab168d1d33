import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StateMachine } from 'aws-local-stepfunctions';
import type { Logger } from '../logger.js';
import {
  type Batch,
  batchItems,
  type ChildRecord,
  DEFAULT_MAX_CONCURRENCY,
  type DistributedMapState,
  exceedsTolerance,
  type RewrittenMap,
  resultFiles,
  type Tolerance,
  type Transformation,
  transformOutputs,
} from './distributed-map.js';
import { SfnError } from './errors.js';
import {
  type Execution,
  epoch,
  executionContext,
  type MachineRef,
  type MapRun,
  paginate,
  TaskError,
} from './execution.js';
import type { PendingEvent } from './history.js';
import { describeSource, readItems } from './item-reader.js';
import { interpreterFor } from './jsonata/engine.js';
import { type JsonPathTemplate, type MapFields, mapFieldsFor } from './map-fields.js';
import type { ResumePoint } from './redrive.js';

/**
 * Map Runs: what a Distributed Map state does when it runs (the state reaches here as
 * the Task that stands for it, ./distributed-map.ts). Reads and batches the items, runs
 * one child execution per item or batch, fails the run once the failed items exceed the
 * tolerance, writes the results, and redrives an unsuccessful Map Run in place.
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
 */

export type { MapRun } from './execution.js';

/** The AWS Error of a Map Run that failed more items than tolerated. */
export const EXCEED_TOLERATED_FAILURE = 'States.ExceedToleratedFailureThreshold';

/** What a Map Run needs of the service that runs executions. */
export interface ExecutionHost {
  /** Appends an event to an execution's history. */
  record(exec: Execution, e: PendingEvent): void;
  /** Makes a new child execution known to the executions API. */
  addExecution(exec: Execution): void;
  /** Runs one execution on `sm` (a redriven one from `resume`); settles when it has ended. */
  runExecution(
    sm: StateMachine,
    workflow: RewrittenMap['processor'],
    maps: Map<string, RewrittenMap>,
    exec: Execution,
    input: unknown,
    machine: MachineRef,
    resume?: ResumePoint
  ): Promise<void>;
  /** Reopens a closed execution for its redrive. */
  markRedriven(exec: Execution): void;
  /** Marks the unsuccessful Map Runs a redrive of `exec` redrives. */
  collectRedrivenMapRuns(exec: Execution): void;
  stopExecution(body: { executionArn: string; error?: unknown }): unknown;
  /** Evaluates a JSONPath payload template with the interpreter. */
  evaluate: JsonPathTemplate;
}

export interface MapRunOptions {
  region: string;
  accountId: string;
  logger: Logger;
  /** S3 for ItemReader and ResultWriter. @default - both fail (ItemReaderFailed, ResultWriterFailed) */
  s3?: S3Client;
}

/** One Map Run in progress: the parts each phase reads. */
interface RunScope {
  exec: Execution;
  map: RewrittenMap;
  st: DistributedMapState;
  fields: MapFields;
  label: string;
  mapRunArn: string;
  /** Whether the parent's attempt that started this run is still running. */
  live: () => boolean;
}

export class MapRunEngine {
  private readonly runs = new Map<string, MapRun>();

  constructor(
    private readonly host: ExecutionHost,
    private readonly opts: MapRunOptions
  ) {}

  /**
   * One Map Run of a Distributed Map: read the items (ItemReader from S3, or
   * ItemsPath/Items), select and batch them, run one child execution per item or batch
   * with at most MaxConcurrency in flight, fail the run as soon as the failed
   * items exceed the tolerance, and write the results (ResultWriter) — also when
   * it fails, like AWS. Its output is what the Map state's ResultSelector and
   * ResultPath (or Output) then apply to.
   */
  async run(
    exec: Execution,
    map: RewrittenMap,
    maps: Map<string, RewrittenMap>,
    input: unknown,
    stateMachine: MachineRef,
    variables: Record<string, unknown>
  ): Promise<unknown> {
    const st = map.state;
    const context = {
      Execution: executionContext(exec, this.opts.accountId),
      StateMachine: stateMachine,
      State: { Name: map.stateName, EnteredTime: new Date().toISOString() },
    };
    const fields = mapFieldsFor(st, map.language, input, context, variables, this.host.evaluate);
    const label = st.Label ?? map.stateName;
    const arnBase = `arn:aws:states:${this.opts.region}:${this.opts.accountId}`;
    // A redrive of the parent redrives this state's unsuccessful Map Run, not a new one
    // (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html).
    const runKey = mapRunKey(map.stateName, input);
    const redriven = exec.redrivenMapRuns?.get(runKey);
    exec.redrivenMapRuns?.delete(runKey);
    // This attempt of the parent: a Map Run still winding down when the parent is
    // redriven must not take the redrive's RUNNING for its own.
    const attempt = exec.redriveCount;
    const scope: RunScope = {
      exec,
      map,
      st,
      fields,
      label,
      mapRunArn:
        redriven?.mapRunArn ?? `${arnBase}:mapRun:${stateMachine.Name}/${label}:${randomUUID()}`,
      live: () => exec.status === 'RUNNING' && exec.redriveCount === attempt,
    };

    // A redriven Map Run keeps the items its first attempt read.
    const { itemCount, batches } = redriven
      ? { itemCount: redriven.items.total, batches: redriven.batches }
      : await this.readBatches(scope);
    const tolerance: Tolerance = {
      count: await fields.value(
        st.ToleratedFailureCount,
        st.ToleratedFailureCountPath,
        'ToleratedFailureCount'
      ),
      percentage: await fields.value(
        st.ToleratedFailurePercentage,
        st.ToleratedFailurePercentagePath,
        'ToleratedFailurePercentage'
      ),
    };
    const concurrency =
      (await fields.value(st.MaxConcurrency, st.MaxConcurrencyPath, 'MaxConcurrency')) ||
      DEFAULT_MAX_CONCURRENCY;

    const run = redriven
      ? this.reopen(exec, redriven)
      : this.open(scope, runKey, itemCount, batches, concurrency, tolerance);
    const child = {
      sm: interpreterFor(map.processor),
      machine: {
        Id: `${arnBase}:stateMachine:${stateMachine.Name}/${label}`,
        Name: `${stateMachine.Name}/${label}`,
      },
      arnBase: `${arnBase}:execution:${stateMachine.Name}/${label}`,
    };
    const exceeded = await this.runChildren(
      scope,
      run,
      maps,
      child,
      itemCount,
      concurrency,
      tolerance
    );
    return this.finish(scope, run, itemCount, tolerance, exceeded);
  }

  /** Items: ItemReader (S3 object) or the state input at ItemsPath (JSONata: Items). */
  private async readBatches(s: RunScope): Promise<{ itemCount: number; batches: Batch[] }> {
    const { st, fields, map } = s;
    let items: unknown[];
    if (st.ItemReader) {
      const params = (await fields.template(
        st.ItemReader[fields.argumentsField] ?? {},
        `ItemReader.${fields.argumentsField}`
      )) as Record<string, unknown>;
      const where = describeSource(st.ItemReader.Resource, params);
      try {
        if (!this.opts.s3) throw new Error('the local runtime was started without S3');
        items = await readItems(this.opts.s3, st.ItemReader, params);
      } catch (err) {
        throw new TaskError(
          'States.ItemReaderFailed',
          `ItemReader ${where}: ${(err as Error).message}`
        );
      }
      const reader = st.ItemReader.ReaderConfig;
      const maxItems = await fields.value(
        reader?.MaxItems,
        reader?.MaxItemsPath,
        'ReaderConfig.MaxItems'
      );
      if (maxItems !== undefined && maxItems > 0) items = items.slice(0, maxItems);
    } else {
      const value = await fields.items();
      if (!Array.isArray(value)) {
        throw new TaskError(
          'States.Runtime',
          map.language === 'JSONata'
            ? `${map.stateName}: Items is not an array`
            : `${map.stateName}: ItemsPath ${st.ItemsPath ?? '$'} is not an array`
        );
      }
      items = value;
    }

    const selected = st.ItemSelector
      ? await Promise.all(
          items.map((Value, Index) =>
            fields.template(st.ItemSelector, 'ItemSelector', { Map: { Item: { Index, Value } } })
          )
        )
      : items;
    try {
      const b = st.ItemBatcher;
      const batches = batchItems(
        selected,
        b && {
          maxItems: await fields.value(
            b.MaxItemsPerBatch,
            b.MaxItemsPerBatchPath,
            'ItemBatcher.MaxItemsPerBatch'
          ),
          maxBytes: await fields.value(
            b.MaxInputBytesPerBatch,
            b.MaxInputBytesPerBatchPath,
            'ItemBatcher.MaxInputBytesPerBatch'
          ),
          batchInput:
            b.BatchInput && (await fields.template(b.BatchInput, 'ItemBatcher.BatchInput')),
        }
      );
      return { itemCount: items.length, batches };
    } catch (err) {
      throw new TaskError(
        'States.Runtime',
        `${map.stateName}: ItemBatcher: ${(err as Error).message}`
      );
    }
  }

  /** A new Map Run: registered, and MapRunStarted in the parent's history. */
  private open(
    s: RunScope,
    key: string,
    itemCount: number,
    batches: Batch[],
    concurrency: number,
    tolerance: Tolerance
  ): MapRun {
    const run: MapRun = {
      mapRunArn: s.mapRunArn,
      executionArn: s.exec.arn,
      status: 'RUNNING',
      startDate: new Date(),
      maxConcurrency: concurrency,
      toleratedFailurePercentage: tolerance.percentage ?? 0,
      toleratedFailureCount: tolerance.count ?? 0,
      items: { total: itemCount, succeeded: 0, failed: 0, aborted: 0, pending: itemCount },
      executions: { total: batches.length, succeeded: 0, failed: 0, aborted: 0 },
      peakRunning: 0,
      children: [],
      redriveCount: 0,
      key,
      batches,
      slots: new Array(batches.length),
    };
    this.runs.set(s.mapRunArn, run);
    this.host.record(s.exec, {
      timestamp: Date.now() / 1000,
      type: 'MapRunStarted',
      mapRunStartedEventDetails: { mapRunArn: s.mapRunArn },
    });
    return run;
  }

  /** A redriven Map Run: running again, counted again, MapRunRedriven in the parent's history. */
  private reopen(exec: Execution, run: MapRun): MapRun {
    run.status = 'RUNNING';
    run.stopDate = undefined;
    run.redriveCount++;
    run.redriveDate = new Date();
    recountForRedrive(run);
    this.host.record(exec, {
      timestamp: run.redriveDate.getTime() / 1000,
      type: 'MapRunRedriven',
      mapRunRedrivenEventDetails: { mapRunArn: run.mapRunArn, redriveCount: run.redriveCount },
    });
    return run;
  }

  /**
   * The child executions, at most `concurrency` at once. Only the children that did not
   * succeed run (again): failed and aborted ones are redriven under their own ARN, those
   * that never started are started. Returns whether the failures exceeded the tolerance
   * (the children still in flight are then stopped, as AWS does).
   */
  private async runChildren(
    s: RunScope,
    run: MapRun,
    maps: Map<string, RewrittenMap>,
    child: { sm: StateMachine; machine: MachineRef; arnBase: string },
    itemCount: number,
    concurrency: number,
    tolerance: Tolerance
  ): Promise<boolean> {
    const { exec } = s;
    const { batches } = run;
    const todo = batches.map((_, i) => i).filter((i) => run.slots[i]?.status !== 'SUCCEEDED');
    let next = 0;
    let running = 0;
    let exceeded = false;
    const launch = async (): Promise<void> => {
      while (next < todo.length && !exceeded && s.live()) {
        const index = todo[next++];
        const batch = batches[index];
        const prior = run.slots[index];
        if (prior) {
          this.host.markRedriven(prior);
          this.host.collectRedrivenMapRuns(prior);
          running++;
          run.peakRunning = Math.max(run.peakRunning, running);
          run.items.pending -= batch.indexes.length;
          prior.done = this.host.runExecution(
            child.sm,
            s.map.processor,
            maps,
            prior,
            batch.input,
            child.machine,
            prior.resume
          );
        }
        const name = randomUUID();
        const current: Execution = prior ?? {
          arn: `${child.arnBase}:${name}`,
          mapRunArn: s.mapRunArn,
          name,
          stateMachineArn: child.machine.Id,
          status: 'RUNNING',
          input: JSON.stringify(batch.input),
          startDate: new Date(),
          history: [],
          redriveCount: 0,
          done: Promise.resolve(),
          traceHeader: exec.traceHeader,
        };
        if (!prior) {
          this.host.addExecution(current);
          run.children.push(current);
          run.slots[index] = current;
          running++;
          run.peakRunning = Math.max(run.peakRunning, running);
          run.items.pending -= batch.indexes.length;
          current.done = this.host.runExecution(
            child.sm,
            s.map.processor,
            maps,
            current,
            batch.input,
            child.machine
          );
        }
        await current.done;
        running--;
        const n = batch.indexes.length;
        if (current.status === 'SUCCEEDED') {
          run.items.succeeded += n;
          run.executions.succeeded++;
        } else if (current.status === 'ABORTED') {
          run.items.aborted += n;
          run.executions.aborted++;
        } else {
          run.items.failed += n;
          run.executions.failed++;
          if (!exceeded && exceedsTolerance(run.items.failed, itemCount, tolerance)) {
            exceeded = true;
            // AWS stops the children still in flight once the Map Run has failed.
            for (const c of run.children) {
              if (c.status === 'RUNNING') {
                this.host.stopExecution({ executionArn: c.arn, error: EXCEED_TOLERATED_FAILURE });
              }
            }
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, launch));
    return exceeded;
  }

  /**
   * The Map Run's end: its status, the results (to S3 with a ResultWriter, else in the
   * state's result, in item order) and MapRunSucceeded or MapRunFailed; the state fails
   * with the run's error.
   */
  private async finish(
    s: RunScope,
    run: MapRun,
    itemCount: number,
    tolerance: Tolerance,
    exceeded: boolean
  ): Promise<unknown> {
    const { exec, st, fields, mapRunArn } = s;
    const records = run.slots.map((c) =>
      c && c.status !== 'RUNNING' ? childRecord(c) : undefined
    );
    const done = records.filter((r): r is ChildRecord => r !== undefined);
    const succeeded = done.filter((r) => r.Status === 'SUCCEEDED');
    const failedRecords = done.filter((r) => r.Status !== 'SUCCEEDED');
    const pending = run.batches.filter((_, i) => records[i] === undefined).map((b) => b.input);
    run.status = exceeded ? 'FAILED' : s.live() ? 'SUCCEEDED' : 'ABORTED';
    run.stopDate = new Date();

    const writer = st.ResultWriter;
    const transformation: Transformation =
      writer?.WriterConfig?.Transformation ?? (writer?.Resource ? 'NONE' : 'COMPACT');
    let output: unknown;
    if (writer?.Resource) {
      const params = (await fields.template(
        writer[fields.argumentsField] ?? {},
        `ResultWriter.${fields.argumentsField}`
      )) as {
        Bucket: string;
        Prefix?: string;
      };
      const { files, manifestKey } = resultFiles({
        bucket: params.Bucket,
        prefix: params.Prefix ?? '',
        mapRunArn,
        succeeded,
        failed: failedRecords,
        pending,
        outputType: writer.WriterConfig?.OutputType ?? 'JSON',
        transformation,
      });
      try {
        if (!this.opts.s3) throw new Error('the local runtime was started without S3');
        // The manifest comes last, so whoever sees it finds every file it lists.
        for (const f of files) {
          await this.opts.s3.send(
            new PutObjectCommand({
              Bucket: params.Bucket,
              Key: f.key,
              Body: f.body,
              ContentType: 'application/json',
            })
          );
        }
      } catch (err) {
        this.recordEnd(exec, run, 'States.ResultWriterFailed', (err as Error).message);
        throw new TaskError('States.ResultWriterFailed', (err as Error).message);
      }
      output = {
        MapRunArn: mapRunArn,
        ResultWriterDetails: { Bucket: params.Bucket, Key: manifestKey },
      };
    } else {
      // No ResultWriter: the results travel in the state, in item order.
      output = records.map((r) =>
        r === undefined
          ? null
          : r.Status === 'SUCCEEDED'
            ? transformOutputs([r], transformation === 'NONE' ? 'NONE' : 'COMPACT')[0]
            : { Error: r.Error, Cause: r.Cause }
      );
      if (transformation === 'FLATTEN') {
        output = (output as unknown[]).flatMap((o) => (Array.isArray(o) ? o : [o]));
      }
    }
    if (exceeded) {
      const cause =
        `The specified tolerated failure threshold was exceeded: ${run.items.failed} of ` +
        `${itemCount} items failed (tolerated: ${describeTolerance(tolerance)})`;
      this.recordEnd(exec, run, EXCEED_TOLERATED_FAILURE, cause);
      throw new TaskError(EXCEED_TOLERATED_FAILURE, cause);
    }
    this.recordEnd(exec, run);
    this.opts.logger.info(
      `[states] ${exec.name} map run ${s.label}: ${run.items.succeeded}/${itemCount} items succeeded` +
        (run.items.failed ? `, ${run.items.failed} failed (tolerated)` : '')
    );
    return output;
  }

  private recordEnd(exec: Execution, run: MapRun, error?: string, cause?: string) {
    if (error !== undefined) run.status = 'FAILED';
    this.host.record(
      exec,
      error === undefined
        ? { timestamp: Date.now() / 1000, type: 'MapRunSucceeded' }
        : {
            timestamp: Date.now() / 1000,
            type: 'MapRunFailed',
            mapRunFailedEventDetails: { error, cause },
          }
    );
  }

  /** The Map Runs an execution started. */
  ofExecution(executionArn: string): MapRun[] {
    return [...this.runs.values()].filter((r) => r.executionArn === executionArn);
  }

  /** The Map Run (local view, with its children), for tests and the bench. */
  get(arn: string): MapRun | undefined {
    return this.runs.get(arn);
  }

  /** DescribeMapRun. */
  describe(arn: string) {
    const r = this.runs.get(arn);
    if (!r) throw new SfnError('ResourceNotFound', `Map Run Does Not Exist: '${arn}'`);
    const counts = (
      c: { total: number; succeeded: number; failed: number; aborted: number },
      pending: number
    ) => ({
      pending,
      running: r.children.filter((e) => e.status === 'RUNNING').length,
      succeeded: c.succeeded,
      failed: c.failed,
      timedOut: 0,
      aborted: c.aborted,
      total: c.total,
      resultsWritten: c.succeeded + c.failed + c.aborted,
      failuresNotRedrivable: 0,
      pendingRedrive: 0,
    });
    return {
      mapRunArn: r.mapRunArn,
      executionArn: r.executionArn,
      status: r.status,
      startDate: epoch(r.startDate),
      stopDate: epoch(r.stopDate),
      maxConcurrency: r.maxConcurrency,
      toleratedFailurePercentage: r.toleratedFailurePercentage,
      toleratedFailureCount: r.toleratedFailureCount,
      itemCounts: counts(r.items, r.items.pending),
      executionCounts: counts(r.executions, r.executions.total - r.children.length),
      redriveCount: r.redriveCount,
      redriveDate: epoch(r.redriveDate),
    };
  }

  /** ListMapRuns of an execution (the caller checks that it exists). */
  list(executionArn: string, body: Record<string, unknown>) {
    const { page, nextToken } = paginate(this.ofExecution(executionArn), body);
    return {
      mapRuns: page.map((r) => ({
        executionArn: r.executionArn,
        mapRunArn: r.mapRunArn,
        stateMachineArn: r.children[0]?.stateMachineArn,
        startDate: epoch(r.startDate),
        stopDate: epoch(r.stopDate),
      })),
      nextToken,
    };
  }
}

/** Identifies a Map Run for a redrive: its Map state and the input that state had. */
const mapRunKey = (stateName: string, input: unknown) =>
  `${stateName}\u0000${JSON.stringify(input)}`;

/** A redriven Map Run counts again: what succeeded stays, the rest is pending. */
function recountForRedrive(run: MapRun) {
  let items = 0;
  let executions = 0;
  run.slots.forEach((c, i) => {
    if (c?.status !== 'SUCCEEDED') return;
    items += run.batches[i].indexes.length;
    executions++;
  });
  run.items = {
    ...run.items,
    succeeded: items,
    failed: 0,
    aborted: 0,
    pending: run.items.total - items,
  };
  run.executions = { ...run.executions, succeeded: executions, failed: 0, aborted: 0 };
}

/** A finished child execution as ResultWriter reports it (Transformation NONE). */
function childRecord(e: Execution): ChildRecord {
  const ok = e.status === 'SUCCEEDED';
  return {
    ExecutionArn: e.arn,
    Input: e.input,
    InputDetails: { Included: true },
    Name: e.name,
    ...(ok
      ? { Output: e.output ?? 'null', OutputDetails: { Included: true } }
      : { Error: e.error ?? 'States.Runtime', Cause: e.cause ?? '' }),
    RedriveCount: e.redriveCount,
    RedriveStatus: ok ? 'NOT_REDRIVABLE' : 'REDRIVABLE',
    ...(ok && { RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven' }),
    StartDate: e.startDate.toISOString(),
    StateMachineArn: e.stateMachineArn,
    Status: e.status as ChildRecord['Status'],
    StopDate: (e.stopDate ?? new Date()).toISOString(),
  };
}

const describeTolerance = (t: Tolerance) =>
  [t.count !== undefined && `${t.count} items`, t.percentage !== undefined && `${t.percentage}%`]
    .filter(Boolean)
    .join(' or ') || 'none';
