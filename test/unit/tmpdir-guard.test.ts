import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { assembliesUnder } from '../tmpdir/leftovers.js';

const work = mkdtempSync(join(tmpdir(), 'tmpdir-guard-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the unit project temp directory guard', () => {
  it('runs this file with its own TMPDIR under the run root', () => {
    // Assess: os.tmpdir() is a directory of this run's root, not the machine's temp dir.
    const root = inject('unitTmpRoot');
    expect(tmpdir().startsWith(`${root}/file-`)).toBe(true);
  });

  it('finds a synthesized assembly one level down, CDK outdirs, and nothing else', () => {
    // Prepare: a real assembly in <dir>/cdk.out, a named outdir, an empty cdk.out… dir, clutter
    const app = new App({ outdir: join(work, 'case-a', 'cdk.out') });
    new CfnResource(new Stack(app, 'S'), 'Q', { type: 'AWS::SQS::Queue' });
    app.synth();
    const named = new App({ outdir: join(work, 'asm-b') });
    new CfnResource(new Stack(named, 'S'), 'Q', { type: 'AWS::SQS::Queue' });
    named.synth();
    mkdirSync(join(work, 'cdk.outXYZ'));
    mkdirSync(join(work, 'media-fixtures-1'));
    writeFileSync(join(work, 'media-fixtures-1', 'manifest.json'), '{}');
    // Act
    const found = assembliesUnder(work);
    // Assess
    expect(found).toEqual(['asm-b', 'case-a/cdk.out', 'cdk.outXYZ']);
  });
});
