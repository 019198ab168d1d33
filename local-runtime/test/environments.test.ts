import { describe, expect, it } from 'vitest';
import { LocalRuntimeError } from '../src/errors.js';
import { environmentsOverride, environmentsPerFunction } from '../src/lambda/environments.js';

// Literal machines and MemorySizes; each expected value is worked out by hand from the rule
// clamp(floor(totalMemory / 4 / MemorySize), 1, max(2, 2 × cores)).
describe('environments per function without reserved concurrency', () => {
  it.each([
    // 2 cores, 24 GiB: budget 6144 MiB; the core bound is 4.
    { cores: 2, totalMemoryMiB: 24_576, memorySizeMiB: 2048, expected: 3 },
    { cores: 2, totalMemoryMiB: 24_576, memorySizeMiB: 1024, expected: 4 },
    { cores: 2, totalMemoryMiB: 24_576, memorySizeMiB: 128, expected: 4 },
    // The 2-core machine the load figures come from reports 23.4 GiB: 5990 MiB of budget.
    { cores: 2, totalMemoryMiB: 23_963, memorySizeMiB: 2048, expected: 2 },
    // 16 cores, 64 GiB: budget 16384 MiB; the core bound is 32.
    { cores: 16, totalMemoryMiB: 65_536, memorySizeMiB: 2048, expected: 8 },
    { cores: 16, totalMemoryMiB: 65_536, memorySizeMiB: 512, expected: 32 },
    { cores: 16, totalMemoryMiB: 65_536, memorySizeMiB: 256, expected: 32 },
    // Tiny machine: memory allows none, yet a function always gets one environment.
    { cores: 1, totalMemoryMiB: 2048, memorySizeMiB: 1024, expected: 1 },
    // One core still allows two (an invocation can wait on I/O while another runs).
    { cores: 1, totalMemoryMiB: 16_384, memorySizeMiB: 128, expected: 2 },
    // A function larger than the whole budget.
    { cores: 4, totalMemoryMiB: 8192, memorySizeMiB: 10_240, expected: 1 },
  ])('$cores cores, $totalMemoryMiB MiB, MemorySize $memorySizeMiB → $expected', (c) => {
    // Act
    const cap = environmentsPerFunction(
      { cores: c.cores, totalMemoryMiB: c.totalMemoryMiB },
      c.memorySizeMiB
    );
    // Assess
    expect(cap).toBe(c.expected);
  });

  it('takes the option over LOCAL_MAX_ENVIRONMENTS, and neither means the rule', () => {
    expect(environmentsOverride(3, '7')).toBe(3);
    expect(environmentsOverride(undefined, '7')).toBe(7);
    expect(environmentsOverride(undefined, undefined)).toBeUndefined();
    expect(environmentsOverride(undefined, '')).toBeUndefined();
  });

  it.each([
    [0, undefined],
    [2.5, undefined],
    [undefined, 'ten'],
    [undefined, '-1'],
  ])('refuses override %s / %s with a clear error', (option, env) => {
    expect(() => environmentsOverride(option, env)).toThrow(LocalRuntimeError);
    expect(() => environmentsOverride(option, env)).toThrow(/must be a positive integer/);
  });
});
