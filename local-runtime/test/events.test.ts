import { describe, expect, it, vi } from 'vitest';
import { type BusEvent, EventBus } from '../src/events/bus.js';
import { matchesPattern, patternProblems } from '../src/events/pattern.js';
import { parseScheduleExpression } from '../src/events/schedule.js';
import type { InvokeResult, LambdaRunner } from '../src/lambda/runner.js';
import type { EventRuleSpec, FunctionSpec } from '../src/model/types.js';
import { buildModel } from '../src/model.js';
import { EXECUTION_STATUS_CHANGE, StepFunctionsService } from '../src/sfn/service.js';
import { silent } from './helpers.js';

/** The rule the video stack declares for its verdict keeper (lib/stacks/video-pipeline-stack.ts). */
const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:Video';
const KEEPER_PATTERN = {
  source: ['aws.states'],
  'detail-type': [EXECUTION_STATUS_CHANGE],
  detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [MACHINE] },
};
const statusChange = (status: string, stateMachineArn = MACHINE) => ({
  source: 'aws.states',
  'detail-type': EXECUTION_STATUS_CHANGE,
  detail: { status, stateMachineArn },
});

describe('EventBridge pattern matching', () => {
  it('matches the status-change rule on an unsuccessful ending of its machine only', () => {
    expect(matchesPattern(KEEPER_PATTERN, statusChange('ABORTED'))).toBe(true);
    expect(matchesPattern(KEEPER_PATTERN, statusChange('TIMED_OUT'))).toBe(true);
    expect(matchesPattern(KEEPER_PATTERN, statusChange('SUCCEEDED'))).toBe(false);
    expect(matchesPattern(KEEPER_PATTERN, statusChange('FAILED', `${MACHINE}2`))).toBe(false);
    expect(matchesPattern(KEEPER_PATTERN, { ...statusChange('FAILED'), source: 'aws.s3' })).toBe(
      false
    );
  });

  it.each([
    ['exact string', { a: ['x'] }, { a: 'x' }, { a: 'X' }],
    ['exact number (as a number)', { a: [5] }, { a: 5.0 }, { a: '5' }],
    ['null', { a: [null] }, { a: null }, {}],
    [
      'prefix',
      { a: [{ prefix: 'arn:aws:states' }] },
      { a: 'arn:aws:states:x' },
      { a: 'arn:aws:s3' },
    ],
    ['suffix', { a: [{ suffix: '.mp4' }] }, { a: 'clip.mp4' }, { a: 'clip.mov' }],
    [
      'prefix ignoring case',
      { a: [{ prefix: { 'equals-ignore-case': 'UP' } }] },
      { a: 'uploads/x' },
      { a: 'down' },
    ],
    [
      'equals-ignore-case',
      { a: [{ 'equals-ignore-case': 'failed' }] },
      { a: 'FAILED' },
      { a: 'FAIL' },
    ],
    [
      'anything-but a value',
      { a: [{ 'anything-but': 'SUCCEEDED' }] },
      { a: 'FAILED' },
      { a: 'SUCCEEDED' },
    ],
    [
      'anything-but a list',
      { a: [{ 'anything-but': ['RUNNING', 'SUCCEEDED'] }] },
      { a: 'ABORTED' },
      { a: 'RUNNING' },
    ],
    ['anything-but, absent field', { a: [{ 'anything-but': 'x' }] }, { a: 'y' }, {}],
    [
      'anything-but a prefix',
      { a: [{ 'anything-but': { prefix: 'tmp/' } }] },
      { a: 'uploads/x' },
      { a: 'tmp/x' },
    ],
    ['exists true', { a: [{ exists: true }] }, { a: 'anything' }, { b: 1 }],
    ['exists false', { a: [{ exists: false }] }, { b: 1 }, { a: null }],
    ['numeric range', { a: [{ numeric: ['>', 0, '<=', 5] }] }, { a: 5 }, { a: 0 }],
    ['numeric equality', { a: [{ numeric: ['=', 3] }] }, { a: 3 }, { a: 3.5 }],
    ['numeric on a string', { a: [{ numeric: ['>=', 0] }] }, { a: 1 }, { a: '1' }],
    [
      'wildcard',
      { a: [{ wildcard: 'uploads/*/clip.mp4' }] },
      { a: 'uploads/acme/clip.mp4' },
      { a: 'uploads/clip.mov' },
    ],
    ['any element of an event array', { a: ['x'] }, { a: ['w', 'x'] }, { a: ['w', 'y'] }],
    ['nested fields', { d: { e: ['x'] } }, { d: { e: 'x' } }, { d: 'x' }],
    ['$or', { $or: [{ a: ['x'] }, { b: [{ numeric: ['>', 10] }] }] }, { b: 11 }, { a: 'y', b: 10 }],
  ])('%s', (_name, pattern, matching, notMatching) => {
    expect(patternProblems(pattern)).toEqual([]);
    expect(matchesPattern(pattern, matching)).toBe(true);
    expect(matchesPattern(pattern, notMatching)).toBe(false);
  });

  it('refuses what it cannot evaluate, by path, instead of ignoring it', () => {
    expect(patternProblems({ detail: { ip: [{ cidr: '10.0.0.0/8' }] } })).toEqual([
      'detail.ip: operator "cidr" is not supported locally',
    ]);
    expect(patternProblems({ a: [{ numeric: ['>', '1'] }] })).toHaveLength(1);
    expect(patternProblems({ a: 'x' })).toEqual([
      'a: a leaf of a pattern must be an array of values',
    ]);
  });
});

describe('AWS::Events::Rule', () => {
  const template = (rule: Record<string, unknown>) => ({
    Resources: {
      Keeper: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Runtime: 'nodejs24.x',
          Handler: 'index.handler',
          Code: { ZipFile: 'x' },
          DeadLetterConfig: { TargetArn: 'arn:aws:sqs:us-east-1:000000000000:dlq' },
        },
      },
      Rule: { Type: 'AWS::Events::Rule', Properties: rule },
    },
  });
  const model = (rule: Record<string, unknown>) =>
    buildModel(
      { stackName: 'S', assemblyDir: '/nonexistent', template: template(rule) as never },
      { region: 'us-east-1', endpoint: 'http://127.0.0.1:0' }
    );

  it('loads the pattern and the Lambda target with its DLQ and retry policy', () => {
    const m = model({
      EventPattern: JSON.stringify(KEEPER_PATTERN),
      State: 'ENABLED',
      Targets: [
        {
          Id: 'T0',
          Arn: { 'Fn::GetAtt': ['Keeper', 'Arn'] },
          DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:000000000000:target-dlq' },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
        },
      ],
    });
    expect(m.eventRules).toEqual([
      {
        logicalId: 'Rule',
        name: 'S-Rule',
        arn: 'arn:aws:events:us-east-1:000000000000:rule/S-Rule',
        enabled: true,
        eventPattern: KEEPER_PATTERN,
        targets: [
          {
            id: 'T0',
            arn: 'arn:aws:lambda:us-east-1:000000000000:function:S-Keeper',
            input: undefined,
            inputPath: undefined,
            deadLetterArn: 'arn:aws:sqs:us-east-1:000000000000:target-dlq',
            maxRetryAttempts: 3,
            maxEventAgeSeconds: 600,
          },
        ],
      },
    ]);
    expect(m.functions[0]?.deadLetterTargetArn).toBe('arn:aws:sqs:us-east-1:000000000000:dlq');
  });

  it.each([
    [
      { ScheduleExpression: 'cron(0 20 * * ? *)', Targets: [] },
      /cron schedules are not run locally/,
    ],
    [{ ScheduleExpression: 'rate(5 minute)', Targets: [] }, /takes the plural unit/],
    [{ Targets: [] }, /needs an EventPattern or a ScheduleExpression/],
    [
      { EventPattern: KEEPER_PATTERN, Targets: [{ Id: 'Q', Arn: 'arn:aws:sqs:us-east-1:0:q' }] },
      /only Lambda function targets/,
    ],
    [{ EventPattern: { a: [{ cidr: '1.2.3.4/32' }] }, Targets: [] }, /operator "cidr"/],
  ])('refuses %j by name', (rule, message) => {
    expect(() => model(rule)).toThrow(message);
  });
});

/** A LambdaRunner stand-in: one function, answering from a script of results. */
const fakeLambda = (fn: Partial<FunctionSpec>, results: Array<'ok' | 'error'>) => {
  const calls: unknown[] = [];
  const spec = {
    name: 'keeper',
    arn: 'arn:aws:lambda:us-east-1:000000000000:function:keeper',
    ...fn,
  };
  const lambda = {
    resolveName: (n: string) => (n === spec.arn || n === spec.name ? spec : undefined),
    async invoke(_n: string, payload: unknown): Promise<InvokeResult> {
      calls.push(payload);
      const r = results.shift() ?? 'ok';
      return r === 'ok'
        ? { ok: true, payload: null, requestId: `r${calls.length}`, durationMs: 1 }
        : {
            ok: false,
            error: { errorType: 'Error', errorMessage: 'boom', trace: [] },
            requestId: `r${calls.length}`,
            durationMs: 1,
          };
    },
  } as unknown as LambdaRunner;
  return { lambda, calls };
};
const rule = (targetArn: string, deadLetterArn?: string): EventRuleSpec => ({
  logicalId: 'R',
  name: 'S-R',
  arn: 'arn:aws:events:us-east-1:000000000000:rule/S-R',
  enabled: true,
  eventPattern: KEEPER_PATTERN,
  targets: [{ id: 'T0', arn: targetArn, deadLetterArn }],
});
const event = (status: string): BusEvent => ({
  source: 'aws.states',
  'detail-type': EXECUTION_STATUS_CHANGE,
  resources: ['arn:exec'],
  detail: { status, stateMachineArn: MACHINE },
});
const busWith = (lambda: LambdaRunner, rules: EventRuleSpec[]) => {
  const sent: Array<{ arn: string; body: string; attributes: Record<string, string> }> = [];
  const bus = new EventBus(rules, lambda, {
    region: 'us-east-1',
    accountId: '000000000000',
    logger: silent,
    functionRetryDelaysMs: [1, 1],
    sendToQueue: async (arn, body, attributes) => {
      sent.push({ arn, body, attributes });
    },
  });
  return { bus, sent };
};

describe('the local event bus', () => {
  it('invokes a matching rule’s Lambda target with the whole envelope, and skips others', async () => {
    const { lambda, calls } = fakeLambda({}, ['ok']);
    const { bus } = busWith(lambda, [
      rule('arn:aws:lambda:us-east-1:000000000000:function:keeper'),
    ]);

    bus.put(event('SUCCEEDED'));
    const envelope = bus.put(event('ABORTED'));
    await bus.idle();

    expect(calls).toEqual([envelope]);
    expect(envelope).toMatchObject({
      version: '0',
      source: 'aws.states',
      account: '000000000000',
      region: 'us-east-1',
      resources: ['arn:exec'],
    });
    expect(envelope.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("retries a failing function twice, then sends the event to the function's DLQ", async () => {
    const { lambda, calls } = fakeLambda({ deadLetterTargetArn: 'arn:fn-dlq' }, [
      'error',
      'error',
      'error',
    ]);
    const { bus, sent } = busWith(lambda, [rule('keeper')]);

    const envelope = bus.put(event('FAILED'));
    await bus.idle();

    expect(calls).toHaveLength(3);
    expect(sent).toEqual([
      {
        arn: 'arn:fn-dlq',
        body: JSON.stringify(envelope),
        attributes: { RequestID: 'r3', ErrorCode: 'Error', ErrorMessage: 'boom' },
      },
    ]);
  });

  it("sends an undeliverable event to the target's DLQ with EventBridge's attributes", async () => {
    const { lambda } = fakeLambda({}, []);
    const missing = 'arn:aws:lambda:us-east-1:000000000000:function:gone';
    const { bus, sent } = busWith(lambda, [rule(missing, 'arn:target-dlq')]);

    bus.put(event('TIMED_OUT'));
    await bus.idle();

    expect(sent).toHaveLength(1);
    expect(sent[0]!.arn).toBe('arn:target-dlq');
    expect(sent[0]!.attributes).toEqual({
      RULE_ARN: 'arn:aws:events:us-east-1:000000000000:rule/S-R',
      TARGET_ARN: missing,
      ERROR_CODE: 'ResourceNotFoundException',
      ERROR_MESSAGE: `Function not found: ${missing}`,
    });
  });
});

describe('Step Functions status-change events', () => {
  const machine = (definition: Record<string, unknown>) => ({
    logicalId: 'M',
    name: 'Video',
    arn: MACHINE,
    type: 'STANDARD',
    definition,
  });
  const serviceWith = (definition: Record<string, unknown>) => {
    const put: BusEvent[] = [];
    const sfn = new StepFunctionsService([machine(definition)], {} as LambdaRunner, {
      region: 'us-east-1',
      accountId: '000000000000',
      logger: silent,
      events: { put: (e) => put.push(e) },
    });
    return { sfn, put };
  };
  const details = (put: BusEvent[]) => put.map((e) => e.detail as Record<string, unknown>);

  it('emits RUNNING, then FAILED with the error, cause, input and dates in AWS’s shape', async () => {
    const { sfn, put } = serviceWith({
      StartAt: 'Boom',
      States: { Boom: { Type: 'Fail', Error: 'AggregateFailed', Cause: '{"Error":"X"}' } },
    });
    const { executionArn } = sfn.startExecution({
      stateMachineArn: MACHINE,
      name: 'v1',
      input: '{"videoId":"v1"}',
    });
    await sfn.waitForExecution(executionArn);

    expect(put.map((e) => [e.source, e['detail-type'], e.resources])).toEqual([
      ['aws.states', EXECUTION_STATUS_CHANGE, [executionArn]],
      ['aws.states', EXECUTION_STATUS_CHANGE, [executionArn]],
    ]);
    const [running, failed] = details(put);
    expect(running).toMatchObject({ status: 'RUNNING', stopDate: null, error: null });
    expect(failed).toMatchObject({
      executionArn,
      stateMachineArn: MACHINE,
      name: 'v1',
      status: 'FAILED',
      input: '{"videoId":"v1"}',
      inputDetails: { included: true },
      output: null,
      error: 'AggregateFailed',
      cause: '{"Error":"X"}',
    });
    expect(typeof failed!.startDate).toBe('number');
    expect(failed!.stopDate as number).toBeGreaterThanOrEqual(failed!.startDate as number);
  });

  it('emits ABORTED when an execution is stopped, and RUNNING again when it is redriven', async () => {
    const { sfn, put } = serviceWith({
      StartAt: 'Wait',
      States: { Wait: { Type: 'Wait', Seconds: 60, End: true } },
    });
    const { executionArn } = sfn.startExecution({ stateMachineArn: MACHINE, name: 'v2' });
    sfn.stopExecution({ executionArn, error: 'Operator', cause: 'wrong upload' });
    await sfn.waitForExecution(executionArn);
    sfn.redriveExecution({ executionArn });
    sfn.stopExecution({ executionArn });
    await sfn.waitForExecution(executionArn);

    expect(details(put).map((d) => [d.status, d.error, d.redriveCount])).toEqual([
      ['RUNNING', null, 0],
      ['ABORTED', 'Operator', 0],
      ['RUNNING', null, 1],
      ['ABORTED', null, 1],
    ]);
  });

  it('emits TIMED_OUT past the machine’s TimeoutSeconds', async () => {
    const { sfn, put } = serviceWith({
      StartAt: 'Wait',
      TimeoutSeconds: 1,
      States: { Wait: { Type: 'Wait', Seconds: 30, End: true } },
    });
    const { executionArn } = sfn.startExecution({ stateMachineArn: MACHINE, name: 'v3' });
    await sfn.waitForExecution(executionArn);

    expect(details(put).map((d) => [d.status, d.error])).toEqual([
      ['RUNNING', null],
      ['TIMED_OUT', 'States.Timeout'],
    ]);
  });
});

describe('scheduled rules', () => {
  it.each([
    ['rate(1 minute)', { everyMs: 60_000 }],
    ['rate(5 minutes)', { everyMs: 300_000 }],
    ['rate(1 hour)', { everyMs: 3_600_000 }],
    ['rate(2 days)', { everyMs: 172_800_000 }],
    ['rate(1 hours)', { problem: 'rate(1 hours): a value of 1 takes the singular unit (hour)' }],
    ['rate(5 hour)', { problem: 'rate(5 hour): a value above 1 takes the plural unit (hours)' }],
    ['rate(0 minutes)', { problem: 'rate(0 minutes): the value must be positive' }],
    ['rate(1 second)', { problem: 'rate(1 second): not rate(value unit)' }],
  ])('%s → %j', (expression, expected) => {
    expect(parseScheduleExpression(expression)).toEqual(expected);
  });

  it('extracts a rate rule without a pattern', () => {
    const m = buildModel(
      {
        stackName: 'S',
        assemblyDir: '/nonexistent',
        template: {
          Resources: {
            Rule: {
              Type: 'AWS::Events::Rule',
              Properties: {
                ScheduleExpression: 'rate(1 minute)',
                Targets: [{ Id: 'T0', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:g' }],
              },
            },
          },
        } as never,
      },
      { region: 'us-east-1', endpoint: 'http://127.0.0.1:0' }
    );
    expect(m.eventRules[0]).toMatchObject({ scheduleEveryMs: 60_000, eventPattern: undefined });
  });

  it('sends its targets a Scheduled Event naming the rule, and events never match it', async () => {
    const { lambda, calls } = fakeLambda({}, ['ok']);
    const scheduled: EventRuleSpec = {
      ...rule('keeper'),
      eventPattern: undefined,
      scheduleEveryMs: 60_000,
    };
    const { bus } = busWith(lambda, [scheduled]);

    bus.put(event('FAILED'));
    const envelope = bus.runSchedule(scheduled, new Date('2026-12-07T06:00:00.123Z'));
    await bus.idle();

    expect(calls).toEqual([envelope]);
    expect(envelope).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: [scheduled.arn],
      detail: {},
      time: '2026-12-07T06:00:00Z',
    });
  });

  it('runs every interval from the start, and stops with the bus', async () => {
    vi.useFakeTimers();
    try {
      const { lambda, calls } = fakeLambda({}, []);
      const scheduled: EventRuleSpec = {
        ...rule('keeper'),
        eventPattern: undefined,
        scheduleEveryMs: 60_000,
      };
      const { bus } = busWith(lambda, [scheduled]);
      bus.startSchedules();

      await vi.advanceTimersByTimeAsync(59_999);
      expect(calls).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(120_001);
      expect(calls).toHaveLength(3);
      await bus.stop();
      await vi.advanceTimersByTimeAsync(600_000);
      expect(calls).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
