import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadStack } from './assembly.js';
import { type EmfSnapshot, EmfStore, tapEmf } from './emf-store.js';
import { type Emulator, startEmulator } from './emulator.js';
import { LocalRuntimeError } from './errors.js';
import { EsmPoller } from './esm-poller.js';
import { EventBus } from './events/bus.js';
import { type FaultCounts, Faults } from './faults.js';
import { emulatorHostNames, runtimeAllowLists, runtimePolicy } from './http/guard.js';
import { createRouter } from './http/router.js';
import { environmentsOverride } from './lambda/environments.js';
import { EphemeralStorage, type EphemeralStorageMode } from './lambda/ephemeral-storage.js';
import { accountConcurrencyFor, LambdaRunner, type LambdaStats } from './lambda/runner.js';
import { LogStore, tapLogs } from './log-store.js';
import { consoleLogger, type Logger } from './logger.js';
import { ACCOUNT_ID, buildModel, type StackModel } from './model.js';
import { provision } from './provisioner.js';
import { S3Notifier } from './s3-notifier.js';
import { StepFunctionsService } from './sfn/service.js';
import { snapshotAssembly } from './snapshot.js';
import { MessageMoveTasks } from './sqs/move-tasks.js';
import { prepareStateDir, S3_SUBDIR } from './state-dir.js';

export type { EmfEntry, EmfSnapshot } from './emf-store.js';
export * from './errors.js';
export { type FaultCounts, type FaultRate, Faults } from './faults.js';
export type { LambdaStats } from './lambda/runner.js';
export type { LogQuery, LogRecord } from './log-store.js';
export type { Logger } from './logger.js';
export { consoleLogger, silentLogger } from './logger.js';
export { EMULATOR_ACCOUNT_ID, type StackModel } from './model.js';
export { ASSEMBLY_DIR, ensureAssembly, ROOT, synthesize } from './synth.js';

export interface LocalRuntimeOptions {
  /** The cloud assembly directory (cdk.out). */
  assemblyDir: string;
  /** Needed only when the assembly has several stacks. */
  stackName?: string;
  /** 0 picks a free port. Default 4566 (LocalStack's). */
  port?: number;
  /** Address the endpoint listens on. Default: LOCAL_BIND_HOST, then 127.0.0.1. */
  bindHost?: string;
  /** Default: AWS_REGION, then us-east-1. */
  region?: string;
  logger?: Logger;
  /** When set, writes `{ "<StackName>": { OutputKey: value } }` like `cdk deploy --outputs-file`. */
  outputsFile?: string;
  /** Values for template Parameters without usable defaults. */
  parameters?: Record<string, string>;
  /**
   * Local cap on concurrent environments per function without reserved concurrency.
   * Default: LOCAL_MAX_ENVIRONMENTS, then the machine's rule (src/lambda/environments.ts).
   */
  maxEnvironmentsPerFunction?: number;
  /** The account's Lambda concurrency. Default: LOCAL_ACCOUNT_CONCURRENCY, then 1000 (AWS's default). */
  accountConcurrency?: number;
  /** ReceiveMessage long-poll seconds for event source mappings. Default 1 (keeps stop() fast). */
  pollWaitSeconds?: number;
  /**
   * Each function's /tmp: `shared` (the host's temp dir) or `tmpfs` (its own tmpfs of its
   * EphemeralStorage.Size; Linux, root). Default: LOCAL_EPHEMERAL_STORAGE, then `shared`.
   */
  ephemeralStorage?: EphemeralStorageMode;
  /**
   * Keep S3 (buckets, objects, multipart uploads) in this folder across restarts
   * (`--state-dir`); checked by `prepareStateDir`. Queues' messages and executions
   * are not kept (local-runtime/README.md). Default: nothing outlives `stop()`.
   */
  stateDir?: string;
  /**
   * Start even when a state machine uses a feature the runtime cannot run (CLI
   * `--allow-partial`): the others run, that one is logged with the feature and its
   * executions fail with the feature named. Default false: the start fails naming it.
   */
  allowPartial?: boolean;
}

export interface LocalRuntime {
  endpoint: string;
  port: number;
  region: string;
  stackName: string;
  outputs: Record<string, string>;
  model: StackModel;
  lambda: LambdaRunner;
  stepFunctions: StepFunctionsService;
  /** The default event bus: the stack's AWS::Events::Rule rules over the services' events. */
  events: EventBus;
  /** fauxqs (S3, SNS, SQS), always on 127.0.0.1 behind the endpoint. */
  emulator: Emulator;
  /**
   * Fault injection (S3 SlowDown, SNS delivery errors and duplicates, SQS receive/delete
   * errors), each off (0) unless its LOCAL_FAULT_* variable is set; see faults.ts.
   */
  faults: Faults;
  /** The functions' /tmp (`ephemeralStorage.dirOf(fn)` in mode `tmpfs`). */
  ephemeralStorage: EphemeralStorage;
  /** Peak concurrency, throttles and kills of the Lambda runner, and the faults injected. */
  stats(): RuntimeStats;
  /** The EMF records the functions printed so far (also GET /_local/metrics). */
  metrics(): EmfSnapshot;
  /**
   * Enables or disables the event source mappings of one function (name or ARN), like
   * UpdateEventSourceMapping(Enabled). Returns how many mappings it changed.
   */
  setEventSourceMappingEnabled(functionName: string, enabled: boolean): Promise<number>;
  stop(): Promise<void>;
}

export interface RuntimeStats extends LambdaStats, FaultCounts {
  accountConcurrency: number;
}

const listen = (server: Server, port: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });

/** The address clients use: a wildcard bind is still reached through loopback. */
function endpointHost(bindHost: string): string {
  if (bindHost === '0.0.0.0') return '127.0.0.1';
  if (bindHost === '::') return '[::1]';
  return bindHost.includes(':') ? `[${bindHost}]` : bindHost;
}

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const startedAt = performance.now();
  const logger = options.logger ?? consoleLogger;
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const envAccount = process.env.LOCAL_ACCOUNT_CONCURRENCY;
  const accountConcurrency =
    options.accountConcurrency ?? (envAccount ? Number(envAccount) : undefined);
  // Validate the original first (clear errors name the real path), then run from a snapshot.
  const checked = buildModel(loadStack(options.assemblyDir, options.stackName), {
    region,
    endpoint: 'http://127.0.0.1:0',
    parameters: options.parameters,
    allowPartial: options.allowPartial,
  });
  accountConcurrencyFor(checked.functions, accountConcurrency);
  const maxEnvironmentsPerFunction = environmentsOverride(options.maxEnvironmentsPerFunction);
  const snapshot = snapshotAssembly(options.assemblyDir);
  const stack = loadStack(snapshot.dir, options.stackName);

  const bindHost = options.bindHost || process.env.LOCAL_BIND_HOST || '127.0.0.1';
  const allowLists = runtimeAllowLists();
  // Only the runtime talks to fauxqs: on any other address, clients could skip the
  // front door (and with it the S3 notifications it raises).
  const faults = new Faults();
  const stateDir = options.stateDir === undefined ? undefined : prepareStateDir(options.stateDir);
  const fauxqs = await startEmulator({
    host: '127.0.0.1',
    region,
    s3Dir: stateDir && path.join(stateDir, S3_SUBDIR),
    hostNames: emulatorHostNames(bindHost, allowLists),
    faults,
    logger,
  }).catch((err) => {
    snapshot.remove();
    throw err;
  });
  const fauxqsUrl = fauxqs.url;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end('starting');
  };
  const server = createServer((req, res) => handler(req, res));
  let port: number;
  try {
    port = await listen(server, options.port ?? 4566, bindHost);
  } catch (err) {
    await fauxqs.stop();
    snapshot.remove();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new LocalRuntimeError(
        `Port ${options.port ?? 4566} is already in use (another local runtime or LocalStack?)`
      );
    }
    throw err;
  }
  const endpoint = `http://${endpointHost(bindHost)}:${port}`;
  const model = buildModel(stack, {
    region,
    endpoint,
    parameters: options.parameters,
    allowPartial: options.allowPartial,
  });
  for (const m of model.stateMachines.filter((s) => s.unsupported)) {
    logger.warn(
      `[local] state machine ${m.name} (${m.logicalId}) will not run: ${m.unsupported?.join('; ')}`
    );
  }

  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const internalSqs = new SQSClient({ region, endpoint: fauxqsUrl, credentials });
  const publicSqs = new SQSClient({ region, endpoint, credentials });
  const internalS3 = new S3Client({
    region,
    endpoint: fauxqsUrl,
    credentials,
    forcePathStyle: true,
  });
  const internalSns = new SNSClient({ region, endpoint: fauxqsUrl, credentials });
  // Step Functions' service integrations call through the front door, as any client does:
  // an S3 PutObject from a workflow raises the bucket's notifications, as on AWS.
  const publicS3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
  const publicSns = new SNSClient({ region, endpoint, credentials });

  const ephemeralStorage = new EphemeralStorage(
    options.ephemeralStorage ?? EphemeralStorage.modeFrom(process.env.LOCAL_EPHEMERAL_STORAGE),
    logger
  );
  try {
    ephemeralStorage.provision(model.functions);
  } catch (err) {
    server.close();
    await fauxqs.stop();
    snapshot.remove();
    throw err;
  }
  const emf = new EmfStore();
  const logs = new LogStore();
  const lambda = new LambdaRunner(model.functions, {
    endpoint,
    region,
    logger: tapLogs(tapEmf(logger, emf), logs),
    maxEnvironmentsPerFunction,
    accountConcurrency,
  });
  const queueNames = new Map(model.queues.map((q) => [q.arn, q.name]));
  const events = new EventBus(model.eventRules, lambda, {
    region,
    accountId: ACCOUNT_ID,
    logger,
    async sendToQueue(queueArn, body, attributes) {
      const name = queueNames.get(queueArn);
      if (!name) throw new LocalRuntimeError(`Dead-letter queue ${queueArn} is not in this stack`);
      await internalSqs.send(
        new SendMessageCommand({
          QueueUrl: `${fauxqsUrl}/${ACCOUNT_ID}/${name}`,
          MessageBody: body,
          MessageAttributes: Object.fromEntries(
            Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])
          ),
        })
      );
    },
  });
  const stepFunctions = new StepFunctionsService(model.stateMachines, lambda, {
    region,
    accountId: ACCOUNT_ID,
    logger,
    // Distributed Map ItemReader/ResultWriter: straight to the store, like the service's own access.
    s3: internalS3,
    integrations: { s3: publicS3, sns: publicSns, sqs: publicSqs },
    events,
  });
  const notifier = new S3Notifier(
    model,
    {
      s3: internalS3,
      sns: internalSns,
      sqs: internalSqs,
      sqsUrl: `${fauxqsUrl}/${ACCOUNT_ID}`,
    },
    lambda,
    logger
  );
  const moveTasks = new MessageMoveTasks(internalSqs, logger);
  const pollers: EsmPoller[] = [];
  const stats = (): RuntimeStats => ({
    ...lambda.stats(),
    accountConcurrency: lambda.accountLimit,
    ...faults.counts,
  });
  const setEventSourceMappingEnabled = async (functionName: string, enabled: boolean) => {
    const fn = lambda.resolveName(functionName);
    if (!fn) throw new LocalRuntimeError(`Function not found: ${functionName}`);
    const mine = pollers.filter((p) => lambda.resolveName(p.functionName)?.name === fn.name);
    await Promise.all(mine.map((p) => p.setEnabled(enabled)));
    logger.info(
      `[local] ${mine.length} event source mapping(s) of ${fn.name} ${enabled ? 'enabled' : 'disabled'}`
    );
    return mine.length;
  };
  handler = createRouter({
    guard: runtimePolicy(port, bindHost, allowLists),
    faults,
    admin: {
      stats,
      metrics: () => emf.snapshot(),
      logs: (query) => ({ records: logs.query(query) }),
      setEventSourceMappingEnabled: async (name, enabled) => ({
        changed: await setEventSourceMappingEnabled(name, enabled),
      }),
      memory: () => ({ ...process.memoryUsage(), lambdaPids: lambda.pids() }),
      gc: () => {
        // Only with node --expose-gc: a soak test measures memory after a full collection.
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        return gc !== undefined;
      },
    },
    fauxqsPort: fauxqs.port,
    s3Objects: fauxqs.s3Objects,
    sfn: stepFunctions,
    moveTasks,
    lambda,
    notifier,
    logger,
    info: () => ({
      status: 'running',
      stackName: model.stackName,
      endpoint,
      outputs: model.outputs,
    }),
  });

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await Promise.all([
        ...pollers.map((p) => p.stop()),
        events.stop(),
        stepFunctions.stop(),
        lambda.stop(),
        moveTasks.stop(),
      ]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fauxqs.stop();
      internalSqs.destroy();
      publicSqs.destroy();
      internalS3.destroy();
      internalSns.destroy();
      publicS3.destroy();
      publicSns.destroy();
      ephemeralStorage.unmountAll();
      snapshot.remove();
    })();
    return stopped;
  };

  try {
    await provision(model, { publicSqs, sns: internalSns, s3: internalS3 }, logger);
    const queues = new Map(model.queues.map((q) => [q.arn, q]));
    for (const spec of model.eventSourceMappings) {
      const queue = queues.get(spec.queueArn);
      if (!queue)
        throw new Error(
          `Event source mapping ${spec.logicalId}: queue ${spec.queueArn} is not in this stack`
        );
      if (!lambda.resolveName(spec.functionName)) {
        throw new Error(
          `Event source mapping ${spec.logicalId}: function ${spec.functionName} is not in this stack`
        );
      }
      const queueUrl = `${fauxqsUrl}/${ACCOUNT_ID}/${queue.name}`;
      const poller = new EsmPoller(spec, fauxqs.pollerQueue(queueUrl), lambda, logger, {
        region,
        waitTimeSeconds: options.pollWaitSeconds ?? 1,
        defaultConcurrency: maxEnvironmentsPerFunction,
      });
      poller.start();
      pollers.push(poller);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  if (model.noLocalEffect.length > 0) {
    const counts = new Map<string, number>();
    for (const r of model.noLocalEffect) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    logger.info(
      `[local] no local effect: ${[...counts].map(([t, n]) => (n > 1 ? `${t} x${n}` : t)).join(', ')}`
    );
  }
  if (options.outputsFile) {
    mkdirSync(path.dirname(path.resolve(options.outputsFile)), { recursive: true });
    writeFileSync(
      options.outputsFile,
      `${JSON.stringify({ [model.stackName]: model.outputs }, null, 2)}\n`
    );
  }
  // Scheduled rules start once everything they may invoke is up.
  events.startSchedules();
  logger.info(
    `[local] ${model.stackName} running on ${endpoint} in ${(performance.now() - startedAt).toFixed(0)} ms ` +
      `(${model.functions.length} functions, ${model.queues.length} queues, ${model.topics.length} topics, ` +
      `${model.buckets.length} buckets, ${model.stateMachines.length} state machines, ` +
      `${model.eventRules.length} event rules)`
  );

  return {
    endpoint,
    port,
    region,
    stackName: model.stackName,
    outputs: model.outputs,
    model,
    lambda,
    stepFunctions,
    events,
    emulator: fauxqs,
    faults,
    ephemeralStorage,
    stats,
    metrics: () => emf.snapshot(),
    setEventSourceMappingEnabled,
    stop,
  };
}
