import { randomBytes } from 'node:crypto';
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../../local-runtime/test/helpers.js';
import { poll } from '../helpers/poll.js';
import { CASES, type ConformanceCase } from './cases.js';
import { type CaseTarget, INTEGRATION_CASES, type IntegrationCase } from './integration-cases.js';
import { JSONATA_CASES } from './jsonata-cases.js';
import { KNOWN_GAPS } from './known-gaps.js';
import { READER_CASES } from './reader-cases.js';
import { localStackSkipReason } from './targets.js';
import { VARIABLE_CASES } from './variable-cases.js';

const run = randomBytes(3).toString('hex');
/** The workflows that need no resources of their own: JSONPath, JSONata, then variables and mixed. */
const WORKFLOWS: ConformanceCase[] = [...CASES, ...JSONATA_CASES, ...VARIABLE_CASES];

/** Cases that create resources on the target (integrations, ItemReaders, lambda:invoke). */
const SERVICE_CASES: IntegrationCase[] = [...INTEGRATION_CASES, ...READER_CASES];

/** Polls DescribeExecution until the execution has ended (bounded). */
function waitForEnd(sfn: SFNClient, executionArn: string) {
  return poll(
    `${executionArn} to end`,
    async () => {
      const d: DescribeExecutionCommandOutput = await sfn.send(
        new DescribeExecutionCommand({ executionArn })
      );
      return d.status !== 'RUNNING' && d;
    },
    60_000,
    { intervalMs: 100 }
  );
}

/** Prepares the resources of an integration case, runs it, then deletes them. */
async function runIntegrationCase(sfn: SFNClient, target: CaseTarget, c: IntegrationCase) {
  const prepared = await c.prepare(target);
  try {
    return await runCase(
      sfn,
      { ...c, definition: prepared.definition, input: prepared.input ?? c.input },
      prepared.whileRunning
    );
  } finally {
    await prepared.cleanup();
  }
}

/** Creates the case's machine, runs it once and returns what AWS's APIs report. */
async function runCase(
  sfn: SFNClient,
  c: ConformanceCase,
  whileRunning?: (executionArn: string) => Promise<void>
) {
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name: `conf-${c.id}-${run}`.slice(0, 80),
      definition: JSON.stringify(c.definition),
      roleArn: 'arn:aws:iam::000000000000:role/conformance',
    })
  );
  try {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(c.input) })
    );
    await whileRunning?.(executionArn!);
    const d = await waitForEnd(sfn, executionArn!);
    const { events } = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 })
    );
    return { d, types: (events ?? []).map((e) => e.type as string) };
  } finally {
    await sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
  }
}

/** True when `expected` appears in `actual` in order (other events may sit between). */
function inOrder(actual: string[], expected: string[]): boolean {
  let i = 0;
  for (const t of actual) if (t === expected[i]) i++;
  return i === expected.length;
}

function assess(c: ConformanceCase, d: DescribeExecutionCommandOutput, types: string[]) {
  expect(d.status, `${c.id}: status`).toBe(c.status);
  if (c.status === 'SUCCEEDED') {
    const output = JSON.parse(d.output ?? 'null');
    if (c.check) c.check(output);
    else expect(output, `${c.id}: output`).toEqual(c.output);
  } else {
    expect(d.error, `${c.id}: error`).toBe(c.error);
    expect(d.cause, `${c.id}: cause`).toBe(c.cause);
  }
  if (c.history && c.exactHistory) expect(types, `${c.id}: history`).toEqual(c.history);
  else if (c.history) {
    expect(inOrder(types, c.history), `${c.id}: history ${types.join(' ')}`).toBe(true);
  }
}

describe('conformance on the local runtime', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  }, 180_000);
  afterAll(() => fx?.close());

  it.for(WORKFLOWS.map((c) => [c.id, c] as const))('%s', async ([, c], ctx) => {
    const gap = KNOWN_GAPS.local[c.id];
    if (gap) {
      console.warn(`KNOWN GAP (local) ${c.id}: ${gap}`);
      return ctx.skip();
    }
    const { d, types } = await runCase(fx.sfn, c);
    assess(c, d, types);
  });

  it.for(SERVICE_CASES.map((c) => [c.id, c] as const))('%s', async ([, c], ctx) => {
    const gap = KNOWN_GAPS.local[c.id];
    if (gap) {
      console.warn(`KNOWN GAP (local) ${c.id}: ${gap}`);
      return ctx.skip();
    }
    const target = {
      endpoint: fx.rt.endpoint,
      region: fx.rt.region,
      functions: { probe: fx.rt.outputs.ProbeFunctionName },
    };
    const { d, types } = await runIntegrationCase(fx.sfn, target, c);
    assess({ ...c, definition: {} }, d, types);
  });
});

describe('conformance on LocalStack', () => {
  let skipReason: string | undefined;
  let sfn: SFNClient;
  beforeAll(async () => {
    skipReason = await localStackSkipReason();
    if (skipReason) console.warn(`SKIPPED: conformance on LocalStack: ${skipReason}`);
    sfn = new SFNClient({
      region: 'us-east-1',
      endpoint: process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  it.for(WORKFLOWS.map((c) => [c.id, c] as const))('%s', async ([, c], ctx) => {
    if (skipReason) return ctx.skip();
    const gap = KNOWN_GAPS.localstack[c.id];
    if (gap) {
      console.warn(`KNOWN GAP (LocalStack 4.14.0) ${c.id}: ${gap}`);
      return ctx.skip();
    }
    const { d, types } = await runCase(sfn, c);
    assess(c, d, types);
  });

  it.for(SERVICE_CASES.map((c) => [c.id, c] as const))('%s', async ([, c], ctx) => {
    if (skipReason) return ctx.skip();
    const gap = KNOWN_GAPS.localstack[c.id];
    if (gap) {
      console.warn(`KNOWN GAP (LocalStack 4.14.0) ${c.id}: ${gap}`);
      return ctx.skip();
    }
    const target = {
      endpoint: process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566',
      region: 'us-east-1',
    };
    const { d, types } = await runIntegrationCase(sfn, target, c);
    assess({ ...c, definition: {} }, d, types);
  });
});
