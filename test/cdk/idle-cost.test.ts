import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PRICES } from '../../lambdas/aggregate/prices.js';
import {
  beforeYouDeploy,
  type CfnTemplate,
  idleCost,
  layerSize,
  README_END,
  README_START,
  UNZIPPED_LIMIT_BYTES,
} from '../../scripts/idle-cost.js';
import { REPO_ROOT } from '../../scripts/project.js';
import { synthVideoStack } from './synth.js';

const REGENERATE = 'npm run synth && npm run cost:idle -- --write-readme';

describe('idle cost', () => {
  it('prices keys, each alarm metric (metric math reads several) and dashboards', () => {
    // Prepare: one key, a plain alarm, a metric-math alarm over two metrics, a 10 s alarm.
    const template: CfnTemplate = {
      Resources: {
        K: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: false } },
        A: { Type: 'AWS::CloudWatch::Alarm', Properties: { Period: 300 } },
        M: {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            Metrics: [
              { Id: 'a', MetricStat: { Period: 60 } },
              { Id: 'b', MetricStat: { Period: 60 } },
              { Id: 'e', Expression: 'a+b' },
            ],
          },
        },
        H: { Type: 'AWS::CloudWatch::Alarm', Properties: { Period: 10 } },
        D: { Type: 'AWS::CloudWatch::Dashboard' },
        Q: { Type: 'AWS::SQS::Queue' },
      },
    };

    // Act
    const cost = idleCost(template);

    // Assess: 1 key, 3 standard alarm metrics, 1 high-resolution, 1 dashboard; the queue is free.
    const m = PRICES.monthly;
    expect(cost.lines.map((l) => [l.count, l.unitUsd])).toEqual([
      [1, m.kmsCustomerManagedKey],
      [3, m.alarmMetricStandard],
      [1, m.alarmMetricHighResolution],
      [1, m.dashboard],
    ]);
    const expected =
      m.kmsCustomerManagedKey +
      3 * m.alarmMetricStandard +
      m.alarmMetricHighResolution +
      m.dashboard;
    expect(cost.totalUsd).toBeCloseTo(expected, 2);
    expect(cost.notes).toEqual([]);
  });

  describe('the README table matches the synthesized stack', () => {
    const synth = synthVideoStack();
    afterAll(() => rmSync(synth.outdir, { recursive: true, force: true }));
    const template = synth.template.toJSON() as CfnTemplate;

    it('keeps the layer under Lambda’s 250 MB unzipped limit', () => {
      const size = layerSize(template, synth.assembly.directory);
      expect(size.layerBytes).toBeGreaterThan(0);
      expect(size.largestBytes).toBeGreaterThan(size.layerBytes);
      expect(size.largestBytes).toBeLessThan(UNZIPPED_LIMIT_BYTES);
    });

    it(`README.md's "Before you deploy" is what the script writes (else: ${REGENERATE})`, () => {
      // Prepare
      const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
      const start = readme.indexOf(README_START);
      const shown = readme.slice(start, readme.indexOf(README_END) + README_END.length);

      // Act
      const table = beforeYouDeploy(
        idleCost(template),
        layerSize(template, synth.assembly.directory)
      );

      // Assess
      expect(start, `README.md lost its table; run ${REGENERATE}`).toBeGreaterThanOrEqual(0);
      expect(shown, `README.md's table is stale; run ${REGENERATE}`).toBe(table);
    });
  });
});
