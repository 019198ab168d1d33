import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  createDistributedMapApp,
  DMAP_STACK,
  ITEMS_PER_BATCH,
  TOLERATED_FAILURE_PERCENTAGE,
} from '../../fixtures/distributed-map/app.js';
import { silentLogger, startLocalRuntime } from '../../local-runtime/src/index.js';
import { deployStackToLocalStack } from '../../scripts/localstack/deploy-stack.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';

/**
 * The Distributed Map form of MapFanOutFanIn, end to end, on a fixture app built
 * from the constructs (fixtures/distributed-map): items planned into S3, read by
 * ItemReader, one child execution per item (or per batch), results written by
 * ResultWriter and read back by the aggregator (layered fan-in).
 */
const target = inject('e2eTarget');
const STATE_LIMIT = 256 * 1024;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

interface Deployed {
  outputs: Record<string, string>;
  s3: S3Client;
  sfn: SFNClient;
  stop(): Promise<void>;
}

/**
 * LocalStack 4.14.0 shortfalls (docs/localstack.md), each found by running these cases there:
 * the cases that depend on them stay in the suite and are skipped on LocalStack with the reason.
 */
const LOCALSTACK_GAPS = {
  resultWriter:
    'LocalStack 4.14.0 ResultWriter writes <prefix>/<mapRunId>/manifest.json with empty ResultFiles ' +
    '(FAILED, PENDING and SUCCEEDED all []) and no SUCCEEDED_0.json/FAILED_0.json, although ' +
    'DescribeMapRun counts the results as written, so the layered fan-in finds no results',
  tolerance:
    'LocalStack 4.14.0 does not enforce ToleratedFailurePercentage: a Map Run with 15 of 100 items ' +
    'failed against 12.5% ends SUCCEEDED (MapRunSucceeded; DescribeMapRun itemCounts.failed 15)',
  itemBatcher:
    'LocalStack 4.14.0 rejects a Map state with ItemBatcher at CreateStateMachine ' +
    '(InvalidDefinition, ASLParserException: mismatched input \'"ItemBatcher"\'), so the batched flow ' +
    'is not deployed there',
} as const;
const gap = (name: keyof typeof LOCALSTACK_GAPS) => {
  if (target.name !== 'localstack') return false;
  console.log(`[e2e] known LocalStack gap, case skipped: ${LOCALSTACK_GAPS[name]}`);
  return true;
};

/** The fixture stack on this run's target: its own local runtime, or a second stack on LocalStack. */
async function deployFixture(): Promise<Deployed> {
  const outdir = mkdtempSync(join(tmpdir(), 'e2e-dmap-'));
  if (target.name === 'localstack') {
    // A stack name per run: LocalStack cannot delete a half-created stack, so a failed run
    // must not block the next one.
    const stackName = `${DMAP_STACK}-${Date.now().toString(36)}`;
    createDistributedMapApp({ outdir, stackName, batched: false }).app.synth();
    const region = process.env.AWS_REGION ?? 'us-east-1';
    const outputs = await deployStackToLocalStack({
      endpoint: target.endpoint!,
      region,
      assemblyDir: outdir,
      stackName,
      outputsFile: join(outdir, 'outputs.json'),
    });
    const config = { endpoint: target.endpoint, region, credentials };
    return {
      outputs,
      s3: new S3Client({ ...config, forcePathStyle: true }),
      sfn: new SFNClient(config),
      async stop() {
        rmSync(outdir, { recursive: true, force: true });
      },
    };
  }
  if (target.name !== 'local') {
    throw new Error(`no deployment of the Distributed Map fixture for target ${target.name}`);
  }
  createDistributedMapApp({ outdir }).app.synth();
  const runtime = await startLocalRuntime({ assemblyDir: outdir, port: 0, logger: silentLogger });
  const config = {
    endpoint: runtime.endpoint,
    region: runtime.region,
    credentials,
  };
  return {
    outputs: runtime.outputs,
    s3: new S3Client({ ...config, forcePathStyle: true }),
    sfn: new SFNClient(config),
    async stop() {
      await runtime.stop();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

/** `count` items, the ones at `failing` indexes planned to fail. */
const runInputFactory = (runId: string, count: number, failing: number[] = []) => ({
  runId,
  count,
  failing,
});

describeE2E(target)(`Distributed Map fan-out (${target.name})`, () => {
  let d: Deployed;
  const runId = (name: string) => `${name}-${Date.now().toString(36)}`;

  const run = async (machine: 'Items' | 'Batched', input: ReturnType<typeof runInputFactory>) => {
    const { executionArn } = await d.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: d.outputs[`${machine}StateMachineArn`],
        name: input.runId,
        input: JSON.stringify(input),
      })
    );
    // Poll the observable state: the execution leaves RUNNING.
    const desc = await poll(
      `execution ${input.runId} to end`,
      async () => {
        const e = await d.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return e.status !== 'RUNNING' && e;
      },
      // Under the project's 240 s test timeout, so a stuck run fails with this message.
      200_000,
      { intervalMs: 250 }
    );
    return { ...desc, executionArn: executionArn! };
  };
  const history = async (executionArn: string) => {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await d.sfn.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken })
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return events;
  };
  const summaryOf = async (runIdValue: string) => {
    const r = await d.s3.send(
      new GetObjectCommand({
        Bucket: d.outputs.DataBucketName,
        Key: `summaries/${runIdValue}.json`,
      })
    );
    return JSON.parse(await r.Body!.transformToString());
  };

  beforeAll(async () => {
    d = await deployFixture();
  }, 300_000);
  afterAll(async () => {
    await d?.stop();
  });

  it.skipIf(gap('resultWriter'))(
    'fans 200 items out past the inline limit and aggregates every result',
    async () => {
      // Prepare
      const input = runInputFactory(runId('all-200'), 200);

      // Act
      const exec = await run('Items', input);

      // Assess: sum of 2n for n < 200 is 200 × 199 = 39,800.
      expect(exec.status).toBe('SUCCEEDED');
      expect(JSON.parse(exec.output!)).toMatchObject({
        status: 'COMPLETE',
        succeeded: 200,
        failed: 0,
        sum: 39_800,
      });
      const types = (await history(exec.executionArn)).map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['MapRunStarted', 'MapRunSucceeded']));
    }
  );

  it.skipIf(gap('resultWriter'))(
    'succeeds with the failures reported when they stay within the tolerance',
    async () => {
      // Prepare: 5 of 100 items fail: 5% against a tolerated 12.5%.
      const failing = [3, 17, 42, 64, 99];
      const input = runInputFactory(runId('within'), 100, failing);
      expect((failing.length * 100) / 100).toBeLessThan(TOLERATED_FAILURE_PERCENTAGE);

      // Act
      const exec = await run('Items', input);

      // Assess: the other 95 are summed: 9,900 − 2 × (3 + 17 + 42 + 64 + 99) = 9,450.
      expect(exec.status).toBe('SUCCEEDED');
      expect(JSON.parse(exec.output!)).toMatchObject({
        status: 'PARTIAL',
        succeeded: 95,
        failed: 5,
        sum: 9_450,
      });
      const summary = await summaryOf(input.runId);
      expect(summary.failedIds).toEqual(['item-17', 'item-3', 'item-42', 'item-64', 'item-99']);
      expect(summary.reason).toContain('ItemFailed');
    }
  );

  it.skipIf(gap('tolerance'))(
    'fails with States.ExceedToleratedFailureThreshold beyond the tolerance',
    async () => {
      // Prepare: 15 of 100 items fail: 15% against a tolerated 12.5%.
      const failing = Array.from({ length: 15 }, (_, i) => i * 6);
      const input = runInputFactory(runId('beyond'), 100, failing);
      expect((failing.length * 100) / 100).toBeGreaterThan(TOLERATED_FAILURE_PERCENTAGE);

      // Act
      const exec = await run('Items', input);

      // Assess: the aggregator still decides (every path reaches it), naming the Map Run's error.
      expect(exec.status).toBe('FAILED');
      expect(exec.error).toBe('WorkFailed');
      expect(exec.cause).toMatch(/^States\.ExceedToleratedFailureThreshold: /);
      const mapRunFailed = (await history(exec.executionArn)).find(
        (e) => e.type === 'MapRunFailed'
      );
      expect(mapRunFailed?.mapRunFailedEventDetails?.error).toBe(
        'States.ExceedToleratedFailureThreshold'
      );
      expect((await summaryOf(input.runId)).status).toBe('FAILED');
    }
  );

  it.skipIf(gap('itemBatcher'))('keeps every state under 256 KiB for 10,000 items', async () => {
    // Prepare
    const input = runInputFactory(runId('ten-thousand'), 10_000);

    // Act
    const exec = await run('Batched', input);

    // Assess: sum of 2n for n < 10,000 is 10,000 × 9,999 = 99,990,000.
    expect(exec.status).toBe('SUCCEEDED');
    expect(JSON.parse(exec.output!)).toMatchObject({
      status: 'COMPLETE',
      succeeded: 10_000,
      sum: 99_990_000,
    });
    const events = await history(exec.executionArn);
    const payloads = events.flatMap((e) =>
      Object.entries(e)
        .filter(([k]) => k.endsWith('EventDetails'))
        .flatMap(([, v]) => [
          (v as { input?: string }).input,
          (v as { output?: string }).output,
          (v as { parameters?: string }).parameters,
        ])
        .filter((p): p is string => typeof p === 'string')
    );
    const largest = Math.max(...payloads.map((p) => Buffer.byteLength(p, 'utf8')));
    console.log(
      `[dmap] 10,000 items in ${10_000 / ITEMS_PER_BATCH} batches: largest state ${largest} B ` +
        `(${((largest * 100) / STATE_LIMIT).toFixed(2)}% of 256 KiB) over ${payloads.length} payloads`
    );
    // The plan alone (10,000 items) is over 256 KiB as JSON: it must be in S3, not in a state.
    expect(payloads.length).toBeGreaterThan(10);
    expect(largest).toBeLessThan(STATE_LIMIT);
  });
});
