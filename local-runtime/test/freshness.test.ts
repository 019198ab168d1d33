import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assemblyState,
  assertPortFree,
  inputsHash,
  recordInputs,
  staleReason,
  synthDecision,
} from '../src/freshness.js';

/** A project tree with the synth inputs and an assembly, as `npm run local` finds it. */
function makeProject(): { root: string; assembly: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'local-runtime-fresh-'));
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  write('bin/app.ts', 'app');
  write('lib/stack.ts', 'stack');
  write('lambdas/ingest/index.ts', 'handler');
  write('lambdas/node_modules/dep/index.js', 'ignored');
  write('cdk.json', '{}');
  write('package-lock.json', '{}');
  write('README.md', 'not an input');
  write('cdk.out/manifest.json', '{}');
  return { root, assembly: path.join(root, 'cdk.out') };
}

describe('npm run local: synthesize only when needed', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });
  const project = () => {
    const p = makeProject();
    cleanup.push(() => rmSync(p.root, { recursive: true, force: true }));
    return p;
  };

  it('synthesizes when the assembly is missing or was not stamped', () => {
    // Prepare
    const { root, assembly } = project();

    // Act + Assess
    expect(staleReason(root, assembly)).toBe(
      'cdk.out has no inputs stamp (synthesized by plain `cdk synth`)'
    );
    rmSync(path.join(assembly, 'manifest.json'));
    expect(staleReason(root, assembly)).toBe('no cloud assembly yet');
  });

  it('skips the synth while the inputs are unchanged, whatever else changes', () => {
    // Prepare
    const { root, assembly } = project();
    recordInputs(assembly, inputsHash(root));

    // Act: files that are not inputs (docs, dependencies' own trees) change.
    writeFileSync(path.join(root, 'README.md'), 'edited');
    writeFileSync(path.join(root, 'lambdas/node_modules/dep/index.js'), 'edited');

    // Assess
    expect(staleReason(root, assembly)).toBeUndefined();
  });

  it.each(['lambdas/ingest/index.ts', 'package-lock.json', 'lib/new-construct.ts'])(
    'synthesizes again after %s changes',
    (rel) => {
      // Prepare
      const { root, assembly } = project();
      recordInputs(assembly, inputsHash(root));

      // Act
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), 'changed');

      // Assess
      expect(staleReason(root, assembly)).toMatch(/changed since the last synth$/);
    }
  );

  it('a stamp written by one tool (the demo) satisfies the other (npm run local)', () => {
    // Prepare: the demo synthesized and stamped, as ensureAssembly does.
    const { root, assembly } = project();
    recordInputs(assembly, inputsHash(root));

    // Act: `npm run local` reads the same cdk.out.
    const decision = synthDecision(assemblyState(root, assembly));

    // Assess
    expect(decision).toEqual({
      synth: false,
      reason: 'cdk.out is current (inputs unchanged): not synthesizing',
    });
  });

  it('a forced reason wins over a current stamp', () => {
    // Prepare
    const { root, assembly } = project();
    recordInputs(assembly, inputsHash(root));

    // Act
    const decision = synthDecision(assemblyState(root, assembly, 'a new ffmpeg build'));

    // Assess
    expect(decision).toEqual({ synth: true, reason: 'a new ffmpeg build' });
  });

  it.each([
    [{ hasAssembly: false, stamp: 'a', inputs: 'a' }, 'no cloud assembly yet'],
    [{ hasAssembly: true, inputs: 'a' }, 'cdk.out has no inputs stamp'],
    [{ hasAssembly: true, stamp: 'a', inputs: 'b' }, 'changed since the last synth'],
  ])('synthDecision(%o) synthesizes: %s', (state, reason) => {
    // Act
    const decision = synthDecision(state);

    // Assess
    expect(decision.synth).toBe(true);
    expect(decision.reason).toContain(reason);
  });

  it('refuses a taken port before synthesizing', async () => {
    // Prepare: something already listens on a port.
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;

    // Act
    const err = await assertPortFree(port, '127.0.0.1').catch((e: Error) => e);
    await new Promise<void>((r) => taken.close(() => r()));

    // Assess
    expect(err).toMatchObject({
      name: 'LocalRuntimeError',
      message: `Port ${port} on 127.0.0.1 is already in use (another local runtime or LocalStack?)`,
    });
    await expect(assertPortFree(port, '127.0.0.1')).resolves.toBeUndefined();
  });
});
