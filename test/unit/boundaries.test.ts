import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/project-root.js';

/**
 * The import boundaries (.dependency-cruiser.cjs, run by `npm run check:boundaries`
 * and `npm run lint`) on tiny fixture trees laid out like the repository: each
 * rule must reject one violating import, and the same tree with the imports the
 * rules ask for must pass. Without this, a rule with a mistyped path would
 * silently never fire.
 */
const CONFIG = join(PROJECT_ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(PROJECT_ROOT, 'node_modules', '.bin', 'depcruise');
const made: string[] = [];

/** Writes `files` (path → imports) as TypeScript modules under a fresh directory. */
const fixture = (files: Record<string, readonly string[]>): string => {
  const root = mkdtempSync(join(tmpdir(), 'boundaries-'));
  made.push(root);
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } })
  );
  for (const [path, imports] of Object.entries(files)) {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    const body = imports.map((spec, i) => `import * as m${i} from '${spec}';\nvoid m${i};\n`);
    writeFileSync(join(root, path), `${body.join('')}export const here = '${path}';\n`);
  }
  return root;
};

interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** What `npm run check:boundaries` reports: its exit status, and the violations (JSON run). */
const cruise = (root: string): { status: number | null; violations: Violation[] } => {
  const run = (args: string[]) =>
    spawnSync(DEPCRUISE, ['--config', CONFIG, ...args, '.'], { cwd: root, encoding: 'utf8' });
  const report = JSON.parse(run(['--output-type', 'json']).stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return {
    // The JSON reporter always exits 0; the default one (the npm script's) exits non-zero on errors.
    status: run([]).status,
    violations: report.summary.violations.map((v) => ({
      rule: v.rule.name,
      from: v.from,
      to: v.to,
    })),
  };
};

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('import boundaries', () => {
  it('rejects one violating import per rule, naming the rule and the arrow', () => {
    // Prepare
    const root = fixture({
      'contract/a.ts': ['./b.js'],
      'contract/b.ts': ['./a.js'],
      'contract/c.ts': ['../shared/h.js'],
      'kinds/k.ts': ['../lambdas/handler.js'],
      'shared/h.ts': ['../lib/stack.js'],
      'lib/stack.ts': ['../lambdas/handler.js'],
      'bin/app.ts': ['../test/e2e/stack-config.js'],
      'test/e2e/stack-config.ts': [],
      'lambdas/handler.ts': ['../cli/src/aws.js'],
      'cli/src/aws.ts': [],
      'console/src/data.ts': ['../../cli/src/aws.js'],
      'local-runtime/src/model.ts': ['../../scripts/project.js'],
      'local-runtime/test/app.ts': ['../../scripts/project.js'],
      'scripts/project.ts': [],
      'scripts/demo.ts': ['../local-runtime/src/model.js', './missing.js'],
    });

    // Act
    const { status, violations } = cruise(root);

    // Assess
    expect(status).not.toBe(0);
    expect(violations).toEqual(
      expect.arrayContaining([
        { rule: 'no-circular', from: 'contract/a.ts', to: 'contract/b.ts' },
        { rule: 'contract-is-only-the-contract', from: 'contract/c.ts', to: 'shared/h.ts' },
        { rule: 'kinds-are-pure-descriptors', from: 'kinds/k.ts', to: 'lambdas/handler.ts' },
        { rule: 'shared-helpers-sit-on-the-contract', from: 'shared/h.ts', to: 'lib/stack.ts' },
        { rule: 'infrastructure-not-to-handlers', from: 'lib/stack.ts', to: 'lambdas/handler.ts' },
        {
          rule: 'production-app-has-no-test-configuration',
          from: 'bin/app.ts',
          to: 'test/e2e/stack-config.ts',
        },
        { rule: 'handlers-not-to-tools', from: 'lambdas/handler.ts', to: 'cli/src/aws.ts' },
        {
          rule: 'console-uses-the-cli-public-entry',
          from: 'console/src/data.ts',
          to: 'cli/src/aws.ts',
        },
        {
          rule: 'local-runtime-stands-alone',
          from: 'local-runtime/src/model.ts',
          to: 'scripts/project.ts',
        },
        {
          rule: 'local-runtime-tests-not-to-scripts',
          from: 'local-runtime/test/app.ts',
          to: 'scripts/project.ts',
        },
        {
          rule: 'scripts-use-the-runtime-public-entry',
          from: 'scripts/demo.ts',
          to: 'local-runtime/src/model.ts',
        },
        { rule: 'not-to-unresolvable', from: 'scripts/demo.ts', to: './missing.js' },
      ])
    );
  });

  it('accepts the arrows the rules ask for', () => {
    // Prepare: the same layers, every import pointing the allowed way.
    const root = fixture({
      'contract/a.ts': ['./b.js'],
      'contract/b.ts': [],
      'kinds/k.ts': ['../contract/a.js'],
      'shared/h.ts': ['../contract/a.js'],
      'lib/stack.ts': ['../kinds/k.js', '../contract/a.js'],
      'bin/app.ts': ['../lib/stack.js'],
      'lambdas/handler.ts': ['../kinds/k.js', '../shared/h.js'],
      'cli/src/aws.ts': ['../../shared/h.js', '../../kinds/k.js'],
      'cli/src/index.ts': ['./aws.js'],
      'console/src/data.ts': ['../../cli/src/index.js'],
      'local-runtime/src/model.ts': [],
      'local-runtime/src/index.ts': ['./model.js'],
      'scripts/demo.ts': ['../local-runtime/src/index.js'],
      'test/e2e/stack-config.ts': ['../../lib/stack.js'],
    });

    // Act
    const { status, violations } = cruise(root);

    // Assess
    expect(violations).toEqual([]);
    expect(status).toBe(0);
  });
});
