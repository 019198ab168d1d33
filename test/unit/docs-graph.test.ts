import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { definitionFromTemplate } from '../../scripts/docs-graph/definition.js';
import {
  type AslMachine,
  describeRule,
  FOLDED_TASK,
  foldAlikeTasks,
  renderMermaid,
  replaceBetweenMarkers,
} from '../../scripts/docs-graph/render.js';
import { DOCS_GRAPH_COMMAND, README, renderedReadme } from '../../scripts/docs-graph.js';

const lambdaArn = 'arn:aws:lambda:us-east-1:123456789012:function:Work';

describe('renderMermaid', () => {
  it('draws Next as a solid arrow from a start node, a Lambda Task with λ, Succeed and Fail', () => {
    // Prepare
    const machine: AslMachine = {
      StartAt: 'Work',
      States: {
        Work: { Type: 'Task', Resource: lambdaArn, Next: 'Check' },
        Check: {
          Type: 'Choice',
          Choices: [{ Variable: '$.status', StringEquals: 'FAILED', Next: 'Failed' }],
          Default: 'Done',
        },
        Done: { Type: 'Succeed' },
        Failed: { Type: 'Fail' },
      },
    };
    // Act
    const lines = renderMermaid(machine).split('\n');
    // Assess
    expect(lines[0]).toBe('flowchart TD');
    expect(lines).toContain('  s_Work["λ Work"]');
    expect(lines).toContain('  s_Check{"Check"}');
    expect(lines).toContain('  s_Done((("Done")))');
    expect(lines).toContain('  s_Failed>"Failed (Fail)"]');
    expect(lines).toContain('  start --> s_Work');
    expect(lines).toContain('  s_Work --> s_Check');
    expect(lines).toContain(`  s_Check -- "status == 'FAILED'" --> s_Failed`);
    expect(lines).toContain('  s_Check -- otherwise --> s_Done');
  });

  it('draws a Catch as a dashed arrow labelled with its errors, and no Retry', () => {
    const machine: AslMachine = {
      StartAt: 'Work',
      States: {
        Work: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sns:publish',
          End: true,
          Catch: [{ ErrorEquals: ['Timeout', 'States.TaskFailed'], Next: 'Recover' }],
          // @ts-expect-error: Retry is not part of the renderer's input type; it must be ignored
          Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3 }],
        },
        Recover: { Type: 'Pass', End: true },
      },
    };
    const text = renderMermaid(machine);
    expect(text).toContain('  s_Work["Work"]');
    expect(text).toContain('  s_Recover(["Recover"])');
    expect(text).toContain('  s_Work -. "Catch Timeout, States.TaskFailed" .-> s_Recover');
    expect(text).not.toMatch(/Retry|MaxAttempts/);
  });

  it('nests a Map as a subgraph and a Parallel as a subgraph of one subgraph per branch', () => {
    const machine: AslMachine = {
      StartAt: 'Items',
      States: {
        Items: {
          Type: 'Map',
          MaxConcurrency: 4,
          Next: 'Both',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED' },
            StartAt: 'One',
            States: { One: { Type: 'Task', Resource: lambdaArn, End: true } },
          },
        },
        Both: {
          Type: 'Parallel',
          End: true,
          Branches: [
            { StartAt: 'Left', States: { Left: { Type: 'Pass', End: true } } },
            { StartAt: 'Right', States: { Right: { Type: 'Pass', End: true } } },
          ],
        },
      },
    };
    const text = renderMermaid(machine);
    expect(text).toContain(
      [
        '  subgraph s_Items ["Items · Distributed Map · MaxConcurrency 4"]',
        '    s_Items_start(("each item"))',
        '    s_One["λ One"]',
        '  end',
      ].join('\n')
    );
    expect(text).toContain(
      [
        '  subgraph s_Both ["Both · Parallel"]',
        '    subgraph s_Both_b1 ["branch 1"]',
        '      s_Both_b1_start(("start"))',
        '      s_Left(["Left"])',
        '    end',
        '    subgraph s_Both_b2 ["branch 2"]',
        '      s_Both_b2_start(("start"))',
        '      s_Right(["Right"])',
        '    end',
        '  end',
      ].join('\n')
    );
    expect(text).toContain('  s_Items_start --> s_One');
    expect(text).toContain('  s_Items --> s_Both');
    expect(text).toContain('  s_Both_b2_start --> s_Right');
  });

  it('refuses a transition to a state outside its scope', () => {
    const machine: AslMachine = {
      StartAt: 'Items',
      States: {
        Items: {
          Type: 'Map',
          End: true,
          ItemProcessor: { StartAt: 'One', States: { One: { Type: 'Pass', Next: 'Items' } } },
        },
      },
    };
    expect(() => renderMermaid(machine)).toThrow('One → Items: no such state');
  });

  it('escapes what mermaid would parse in a label', () => {
    const machine: AslMachine = {
      StartAt: 'C',
      States: {
        C: {
          Type: 'Choice',
          Choices: [{ Condition: '{% $count > 2 and $name = "a&b" %}', Next: 'E' }],
          Default: 'E',
        },
        E: { Type: 'Succeed' },
      },
    };
    expect(renderMermaid(machine)).toContain(
      '  s_C -- "$count #gt; 2 and $name = #quot;a#amp;b#quot;" --> s_E'
    );
  });
});

describe('describeRule', () => {
  it('names fields without JSONPath syntax and combines rules', () => {
    expect(describeRule({ Variable: '$.plan.segments', IsPresent: true })).toBe(
      'plan.segments present'
    );
    expect(describeRule({ Variable: '$.n', NumericGreaterThanEqualsPath: '$.limit' })).toBe(
      'n >= limit'
    );
    expect(
      describeRule({
        And: [{ Variable: '$.a', BooleanEquals: true }, { Not: { Variable: '$.b', IsNull: true } }],
      })
    ).toBe('a == true and not (b null)');
  });

  it('refuses a rule without an operator', () => {
    expect(() => describeRule({ Variable: '$.a', Next: 'X' })).toThrow('no operator');
  });
});

describe('replaceBetweenMarkers', () => {
  it('replaces only the marked block and keeps the rest of the document', () => {
    const doc = 'before\n<!-- state-machine:begin -->\nold\n<!-- state-machine:end -->\nafter\n';
    expect(replaceBetweenMarkers(doc, 'flowchart TD\n', 'note')).toBe(
      'before\n<!-- state-machine:begin -->\n<!-- note -->\n\n```mermaid\nflowchart TD\n```\n\n<!-- state-machine:end -->\nafter\n'
    );
  });

  it('refuses a document without markers', () => {
    expect(() => replaceBetweenMarkers('no markers', 'x', 'n')).toThrow('state-machine:begin');
  });
});

describe('definitionFromTemplate', () => {
  it('reads the StateMachineArn output’s machine and resolves its intrinsics', () => {
    const template = {
      Resources: {
        Fn: { Type: 'AWS::Lambda::Function' },
        Other: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: '{}' } },
        Machine: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            DefinitionString: {
              'Fn::Join': [
                '',
                [
                  '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"',
                  { 'Fn::GetAtt': ['Fn', 'Arn'] },
                  '","End":true}}}',
                ],
              ],
            },
          },
        },
      },
      Outputs: { StateMachineArn: { Value: { Ref: 'Machine' } } },
    };
    expect(definitionFromTemplate(template)).toEqual({
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:123456789012:function:Fn',
          End: true,
        },
      },
    });
  });
});

describe('README.md', () => {
  it(`shows the state machine the code synthesizes (fix: \`${DOCS_GRAPH_COMMAND}\`)`, () => {
    // Prepare
    const committed = readFileSync(README, 'utf8');
    // Act: synthesize the app and render its workflow into the README
    const expected = renderedReadme(committed);
    // Assess
    expect(
      committed === expected,
      `README.md's state-machine diagram differs from the synthesized workflow: run \`${DOCS_GRAPH_COMMAND}\` and commit README.md`
    ).toBe(true);
    // The real workflow's landmarks, so a renderer that drew nothing would fail here too.
    expect(committed).toMatch(/subgraph s_FanOut \["FanOut · Map/);
    expect(committed).toMatch(/subgraph s_Segments \["Segments · Distributed Map/);
    expect(committed).toContain('s_Probe -. "Catch States.ALL" .-> s_Aggregate');
  });
});

describe('foldAlikeTasks', () => {
  const routed = (kinds: readonly string[]): AslMachine => ({
    StartAt: 'Route',
    States: {
      Route: {
        Type: 'Choice',
        Choices: kinds.map((k) => ({
          Variable: '$.branch.kind',
          StringEquals: k,
          Next: `Run${k}`,
        })),
        Default: 'Unknown',
      },
      ...Object.fromEntries(
        kinds.map((k) => [
          `Run${k}`,
          {
            Type: 'Task',
            Resource: lambdaArn,
            End: true,
            Catch: [{ ErrorEquals: ['States.ALL'], Next: k === 'b' ? 'FallBack' : 'Failed' }],
          },
        ])
      ),
      FallBack: { Type: 'Pass', End: true },
      Failed: { Type: 'Pass', End: true },
      Unknown: { Type: 'Fail' },
    },
  });

  it('draws the tasks that take the same path as one, the same for two alike kinds as for three', () => {
    // Act
    const two = renderMermaid(foldAlikeTasks(routed(['a', 'b', 'c'])));
    const three = renderMermaid(foldAlikeTasks(routed(['a', 'b', 'c', 'd'])));

    // Assess
    expect(three).toBe(two);
    expect(two).toContain(`λ ${FOLDED_TASK}`);
    expect(two).toContain('"branch.kind == \'b\'" --> s_Runb');
    expect(two).not.toContain('s_Runa');
    expect(two).not.toContain('s_Runc');
  });

  it('leaves a Choice alone when no two of its tasks are alike', () => {
    // Prepare
    const machine = routed(['a', 'b']);

    // Act
    const folded = foldAlikeTasks(machine);

    // Assess
    expect(folded).toEqual(machine);
  });
});
