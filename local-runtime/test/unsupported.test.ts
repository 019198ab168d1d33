import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  silentLogger,
  startLocalRuntime,
  UnsupportedFeatureError,
  UnsupportedResourceError,
  UnsupportedResourcesError,
} from '../src/index.js';
import { resolve } from '../src/intrinsics.js';
import { writeAssembly } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A hand-written assembly: the validation must not depend on CDK or synth. */
function assembly(resources: Record<string, unknown>): string {
  const dir = writeAssembly('unsupported', resources);
  dirs.push(dir);
  return dir;
}

describe('template validation', () => {
  it('names the type and logical id of an unsupported resource', async () => {
    // Prepare
    const dir = assembly({
      Queue: { Type: 'AWS::SQS::Queue' },
      Role: { Type: 'AWS::IAM::Role', Properties: {} },
      Foo: { Type: 'Custom::Foo', Properties: { ServiceToken: 'x' } },
    });

    // Act
    const err = await startLocalRuntime({ assemblyDir: dir, port: 0, logger: silentLogger }).catch(
      (e) => e
    );

    // Assess
    expect(err).toBeInstanceOf(UnsupportedResourceError);
    expect(err.message).toBe('Custom::Foo is not supported by the local runtime (logical id Foo)');
    expect(err).toMatchObject({ resourceType: 'Custom::Foo', logicalId: 'Foo' });
  });

  it('reports every unsupported resource at once', async () => {
    // Prepare
    const dir = assembly({
      Table: { Type: 'AWS::DynamoDB::Table' },
      Api: { Type: 'AWS::ApiGateway::RestApi' },
    });

    // Act
    const err = await startLocalRuntime({ assemblyDir: dir, port: 0, logger: silentLogger }).catch(
      (e) => e
    );

    // Assess
    expect(err).toBeInstanceOf(UnsupportedResourcesError);
    expect(err.message).toContain(
      'AWS::DynamoDB::Table is not supported by the local runtime (logical id Table)'
    );
    expect(err.message).toContain(
      'AWS::ApiGateway::RestApi is not supported by the local runtime (logical id Api)'
    );
  });

  it('rejects ASL features the interpreter would silently ignore', async () => {
    // Prepare
    const definition = {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemReader: { Resource: 'arn:aws:states:::s3:getObject' },
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED' },
            StartAt: 'P',
            States: { P: { Type: 'Pass', End: true } },
          },
          Next: 'T',
        },
        T: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', End: true },
      },
    };
    const dir = assembly({
      SM: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: { DefinitionString: JSON.stringify(definition) },
      },
    });

    // Act
    const err = await startLocalRuntime({ assemblyDir: dir, port: 0, logger: silentLogger }).catch(
      (e) => e
    );

    // Assess
    expect(err).toBeInstanceOf(UnsupportedFeatureError);
    expect(err.message).toMatch(/Task resource arn:aws:states:::dynamodb:putItem/);
    expect(err.message).toMatch(/ItemReader/);
    expect(err.message).toMatch(/distributed Map/);
  });
});

describe('allowPartial', { timeout: 60_000 }, () => {
  // Prepare (shared): one machine the runtime runs, one it cannot (a DynamoDB Task: no emulated DynamoDB).
  const stack = () =>
    assembly({
      Runs: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          StateMachineName: 'runs',
          DefinitionString: JSON.stringify({
            StartAt: 'P',
            States: { P: { Type: 'Pass', Result: 'ok', End: true } },
          }),
        },
      },
      Refused: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          StateMachineName: 'refused',
          DefinitionString: JSON.stringify({
            StartAt: 'J',
            States: {
              J: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', Next: 'P' },
              P: { Type: 'Pass', End: true },
            },
          }),
        },
      },
    });

  it('without it, the start fails naming the machine and the feature', async () => {
    const err = await startLocalRuntime({
      assemblyDir: stack(),
      port: 0,
      logger: silentLogger,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedFeatureError);
    expect(err.message).toMatch(/Refused: J: Task resource arn:aws:states:::dynamodb:putItem/);
  });

  it('with it, the others run, the refused one is logged and its executions fail naming the feature', async () => {
    // Act
    const logs: string[] = [];
    const push = (m: string) => logs.push(m);
    const rt = await startLocalRuntime({
      assemblyDir: stack(),
      port: 0,
      allowPartial: true,
      logger: { info: push, warn: push, error: push, debug: push },
    });
    try {
      const arn = (name: string) => rt.model.stateMachines.find((m) => m.name === name)!.arn;
      const ok = rt.stepFunctions.startExecution({ stateMachineArn: arn('runs') });
      const done = await rt.stepFunctions.waitForExecution(ok.executionArn);
      let refused: unknown;
      try {
        rt.stepFunctions.startExecution({ stateMachineArn: arn('refused') });
      } catch (err) {
        refused = err;
      }

      // Assess
      expect(done.output).toBe('"ok"');
      expect(refused).toMatchObject({
        name: 'ValidationException',
        message: expect.stringMatching(
          /refused .*J: Task resource arn:aws:states:::dynamodb:putItem/
        ),
      });
      expect(logs.join('\n')).toMatch(
        /state machine refused \(Refused\) will not run: J: Task resource arn:aws:states:::dynamodb:putItem/
      );
    } finally {
      await rt.stop();
    }
  });
});

describe('intrinsic resolution', () => {
  // Prepare (shared): a resolution context with one condition (IsProd) true.
  const ctx = {
    region: 'eu-west-1',
    ref: (id: string) =>
      id === 'AWS::AccountId' ? '000000000000' : id === 'AWS::Region' ? 'eu-west-1' : `ref-${id}`,
    getAtt: (id: string, attr: string) => `${id}.${attr}`,
    condition: (name: string) => name === 'IsProd',
  };
  it('resolves Join, Sub, Select, Split, If and GetAtt', () => {
    // Prepare: Fn::Sub templates are written with #{ } so the linter does not mistake
    // them for JS templates.
    const sub = (t: string) => t.replace(/#\{/g, '$' + '{');

    // Act & Assess: one resolution per intrinsic (ctx, above, is the shared preparation).
    expect(
      resolve({ 'Fn::Join': ['', ['a', { Ref: 'B' }, { 'Fn::GetAtt': ['Fn', 'Arn'] }]] }, ctx)
    ).toBe('aref-BFn.Arn');
    expect(resolve({ 'Fn::Sub': sub('arn:#{AWS::Region}:#{Fn.Arn}:#{X}:#{!Lit}') }, ctx)).toBe(
      sub('arn:eu-west-1:Fn.Arn:ref-X:#{Lit}')
    );
    expect(resolve({ 'Fn::Sub': [sub('#{A}-#{B}'), { A: 'x', B: { Ref: 'Q' } }] }, ctx)).toBe(
      'x-ref-Q'
    );
    expect(resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }, ctx)).toBe('b');
    expect(resolve({ 'Fn::If': ['IsProd', 'big', 'small'] }, ctx)).toBe('big');
    expect(resolve({ A: { 'Fn::If': ['IsDev', 1, { Ref: 'AWS::NoValue' }] }, B: 2 }, ctx)).toEqual({
      B: 2,
    });
  });
});
