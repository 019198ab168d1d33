import { describe, expect, it } from 'vitest';
import { rewriteDistributedMaps } from '../src/sfn/distributed-map.js';
import { interpreterFor, validationOnce } from '../src/sfn/jsonata/engine.js';
import { prepareForRuns } from '../src/sfn/service.js';

/**
 * The interpreter's definition check runs once per definition (validationOnce): the service
 * builds an interpreter per execution and per Map Run, and the check cost StartExecution
 * 135–330 ms. Each case builds its own definition (a unique state name), so the module's
 * memory of earlier cases does not decide the outcome.
 */
let n = 0;
const validDefinition = () => ({
  StartAt: `P${++n}`,
  States: { [`P${n}`]: { Type: 'Pass', Result: { n }, End: true } },
});
const invalidDefinition = () => ({
  StartAt: `Missing${++n}`,
  States: { [`P${n}`]: { Type: 'Pass', End: true } },
});
const options = { validationOptions: { checkArn: false } };

describe('the definition check, once per definition', () => {
  it('a definition that passed is built without the check the next time, and still runs', async () => {
    // Prepare
    const definition = validDefinition();
    // Act
    const first = validationOnce(definition, options);
    const sm = interpreterFor(definition, options);
    const second = validationOnce(structuredClone(definition), options);
    const again = interpreterFor(structuredClone(definition), options);
    // Assess
    expect(first.options.validationOptions).toEqual({ checkArn: false });
    expect(second.options.validationOptions).toEqual({ checkArn: false, noValidate: true });
    expect(await sm.run({}).result).toEqual({ n });
    expect(await again.run({}).result).toEqual({ n });
  });

  it("never changes the caller's definition, and remembers it as given", () => {
    // Prepare
    const definition = validDefinition();
    const asGiven = structuredClone(definition);
    // Act
    interpreterFor(definition, options);
    // Assess: the check wrote QueryLanguage into its own copy only.
    expect(definition).toEqual(asGiven);
    expect(validationOnce(definition, options).options.validationOptions).toMatchObject({
      noValidate: true,
    });
  });

  it('a definition that failed is checked, and refused, every time', () => {
    // Prepare
    const definition = invalidDefinition();
    // Act / Assess
    expect(() => interpreterFor(definition, options)).toThrow(/definition is invalid/);
    expect(validationOnce(definition, options).options.validationOptions).toEqual({
      checkArn: false,
    });
    expect(() => interpreterFor(definition, options)).toThrow(/definition is invalid/);
  });

  it('the same definition under other validation options is checked under those', () => {
    // Prepare
    const definition = validDefinition();
    interpreterFor(definition, options);
    // Act
    const stricter = validationOnce(definition, { validationOptions: { checkArn: true } });
    // Assess
    expect(stricter.options.validationOptions).toEqual({ checkArn: true });
  });

  it('a caller that asks for no check gets none, and nothing is remembered', () => {
    // Prepare
    const definition = invalidDefinition();
    // Act
    const skipped = validationOnce(definition, { validationOptions: { noValidate: true } });
    skipped.passed();
    // Assess
    expect(() => interpreterFor(definition, options)).toThrow(/definition is invalid/);
  });

  it("a machine prepared at creation has its executions' and Map Runs' definitions checked already", () => {
    // Prepare: a machine with a Distributed Map, as the service rewrites it for its runs.
    const name = `Items${++n}`;
    const definition = {
      StartAt: name,
      States: {
        [name]: {
          Type: 'Map',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'Each',
            States: { Each: { Type: 'Pass', End: true } },
          },
          End: true,
        },
      },
    };
    const { definition: rewritten } = rewriteDistributedMaps(structuredClone(definition));
    expect(validationOnce(rewritten, options).options.validationOptions).toEqual(
      options.validationOptions
    );

    // Act
    prepareForRuns(definition);

    // Assess: what StartExecution and the Map Run build next skips the check.
    const again = rewriteDistributedMaps(structuredClone(definition));
    expect(again.maps.size).toBe(1);
    expect(validationOnce(again.definition, options).options.validationOptions).toMatchObject({
      noValidate: true,
    });
    expect(
      validationOnce([...again.maps.values()][0]!.processor, options).options.validationOptions
    ).toMatchObject({ noValidate: true });
  });
});
