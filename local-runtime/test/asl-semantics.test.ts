import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';

/**
 * JSONPath-mode semantics that aws-local-stepfunctions 3.0.0 gets wrong and that
 * patches/aws-local-stepfunctions+3.0.0.patch fixes (applied by `patch-package` at
 * `npm ci`). Each expectation is the value AWS documents, written out literally:
 * - ResultPath: https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
 *   ("$" replaces the whole input with the result; null keeps the input).
 * - Intrinsic functions and their escapes (\' \{ \} \\ in string literals):
 *   https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
 * If `npm ci` ran without the patch, these tests fail.
 */
type Definition = ConstructorParameters<typeof StateMachine>[0];
type Input = Parameters<StateMachine['run']>[0];

async function run(definition: Definition, input: Input): Promise<unknown> {
  const sm = new StateMachine(definition, { validationOptions: { checkArn: false } });
  return sm.run(input).result;
}

const pass = (state: Record<string, unknown>): Definition =>
  ({ StartAt: 'S', States: { S: { Type: 'Pass', End: true, ...state } } }) as Definition;

describe('ResultPath', () => {
  it('"$" replaces an object input with the result (no key named "$")', async () => {
    // Act
    const out = await run(pass({ Result: { r: 1 }, ResultPath: '$' }), { keep: 'me' });

    // Assess
    expect(out).toEqual({ r: 1 });
  });

  it('"$" replaces a non-object input too', async () => {
    const out = await run(pass({ Result: [1, 2], ResultPath: '$' }), [9]);
    expect(out).toEqual([1, 2]);
  });

  it('"$" on a Map replaces the input with the array of iteration results', async () => {
    // Prepare: the scatter-gather shape of the public samples.
    const def = {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemsPath: '$.items',
          ResultPath: '$',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'P',
            States: { P: { Type: 'Pass', Parameters: { 'v.$': '$' }, End: true } },
          },
          End: true,
        },
      },
    } as Definition;

    // Act
    const out = await run(def, { items: [1, 2], other: true });

    // Assess
    expect(out).toEqual([{ v: 1 }, { v: 2 }]);
  });

  it('null keeps the input and "$.x" still sets one field', async () => {
    expect(await run(pass({ Result: 5, ResultPath: null }), { a: 1 })).toEqual({ a: 1 });
    expect(await run(pass({ Result: 5, ResultPath: '$.x' }), { a: 1 })).toEqual({ a: 1, x: 5 });
  });
});

describe('intrinsic functions and string escapes', () => {
  const tricky = { q: 'he said "hi" \\ back\nnew line', u: 'é✓ 😀', n: 1.5, b: false, z: null };

  it('States.JsonToString gives JSON that States.StringToJson reads back to an equal value', async () => {
    // Prepare
    const def = {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Parameters: { 's.$': 'States.JsonToString($.x)' }, Next: 'B' },
        B: {
          Type: 'Pass',
          Parameters: { 'o.$': 'States.StringToJson($.s)', 's.$': '$.s' },
          End: true,
        },
      },
    } as Definition;

    // Act
    const out = (await run(def, { x: tricky })) as { o: unknown; s: string };

    // Assess: the string is the JSON text AWS produces (quotes and backslashes escaped).
    expect(JSON.parse(out.s)).toEqual(tricky);
    expect(out.s).toContain('\\"hi\\"');
    expect(out.o).toEqual(tricky);
  });

  it('keeps backslashes that a function returns (no blanket backslash removal)', async () => {
    const out = await run(pass({ Parameters: { 'v.$': "States.Format('{}', $.p)" } }), {
      p: 'C:\\dir\\file',
    });
    expect(out).toEqual({ v: 'C:\\dir\\file' });
  });

  it.each([
    ["States.Format('it\\'s {}', $.n)", "it's 3"],
    ["States.Format('\\{x\\} = {}', $.n)", '{x} = 3'],
    ["States.Format('{} and {}', $.n, 'two')", '3 and two'],
    ["States.StringSplit('a\\'b,c', ',')", ["a'b", 'c']],
    ["States.Base64Encode('it\\'s')", 'aXQncw=='],
  ])('%s', async (expression, expected) => {
    const out = await run(pass({ Parameters: { 'v.$': expression } }), { n: 3 });
    expect(out).toEqual({ v: expected });
  });

  it('States.Format of a nested JsonToString keeps valid JSON', async () => {
    const out = (await run(
      pass({ Parameters: { 'v.$': "States.Format('{}', States.JsonToString($.o))" } }),
      { o: { q: 'say "x"' } }
    )) as { v: string };
    expect(JSON.parse(out.v)).toEqual({ q: 'say "x"' });
  });
});

describe('definition check (patches to asl-validator 3.16.0 and asl-path-validator 0.16.1)', () => {
  // AWS accepts both; the bundled check refused them before anything ran.
  it('accepts Parameters keys named like Object.prototype members', async () => {
    const out = await run(
      pass({
        Parameters: { 'toString.$': '$.a', constructor: 1, nested: { 'hasOwnProperty.$': '$.a' } },
      }),
      { a: 'x' }
    );
    expect(out).toEqual({ toString: 'x', constructor: 1, nested: { hasOwnProperty: 'x' } });
  });

  it('still refuses a real duplicate after the ".$" suffix is stripped', () => {
    expect(() => new StateMachine(pass({ Parameters: { 'a.$': '$.a', a: 1 } }))).toThrow(
      /DUPLICATE_FIELD_NAME/
    );
  });

  it.each([
    // Intrinsic text `'C:\\Temp\\{}.txt'`: each escaped backslash is one backslash.
    ["States.Format('C:\\\\Temp\\\\{}.txt', $.n)", 'C:\\Temp\\3.txt'],
    ["States.Format('\\\\')", '\\'],
    ["States.Array('a\\\\b', 'it\\'s')", ['a\\b', "it's"]],
  ])('accepts an escaped backslash in a string literal: %s', async (expression, expected) => {
    const out = await run(pass({ Parameters: { 'v.$': expression } }), { n: 3 });
    expect(out).toEqual({ v: expected });
  });
});

describe('context object', () => {
  it('$$.State has the Name and RetryCount of the running state', async () => {
    const out = await run(
      pass({ Parameters: { 'name.$': '$$.State.Name', 'retries.$': '$$.State.RetryCount' } }),
      {}
    );
    expect(out).toEqual({ name: 'S', retries: 0 });
  });

  it('$$.Execution.Input inside a Map iteration is the execution input', async () => {
    // Prepare: the runtime passes the execution's context, as service.ts does.
    const input = { items: [1], tag: 'outer' };
    const def = {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'P',
            States: {
              P: { Type: 'Pass', Parameters: { 'tag.$': '$$.Execution.Input.tag' }, End: true },
            },
          },
          End: true,
        },
      },
    } as Definition;
    const sm = new StateMachine(def, { validationOptions: { checkArn: false } });

    // Act
    const out = await sm.run(input, { context: { Execution: { Input: input } } }).result;

    // Assess
    expect(out).toEqual([{ tag: 'outer' }]);
  });
});
