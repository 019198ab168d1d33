import { describe, expect, it } from 'vitest';
import { poll } from '../helpers/poll.js';

describe('poll', () => {
  it('resolves with the first value that is neither undefined nor false', async () => {
    // Prepare: a condition met on the third look
    const answers = [undefined, false, 'ready', 'later'];
    let calls = 0;
    // Act
    const value = await poll('the third answer', () => answers[calls++], 1_000, { intervalMs: 1 });
    // Assess
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('looks once more after the interval, not before', async () => {
    const seen: number[] = [];
    await poll(
      'two looks',
      () => {
        seen.push(Date.now());
        return seen.length === 2 || undefined;
      },
      1_000,
      { intervalMs: 30 }
    );
    expect(seen).toHaveLength(2);
    expect(seen[1] - seen[0]).toBeGreaterThanOrEqual(20);
  });

  it('rejects after the timeout, naming what it waited for', async () => {
    let calls = 0;
    await expect(
      poll(
        'a condition never met',
        async () => {
          calls += 1;
          return undefined;
        },
        50,
        { intervalMs: 5 }
      )
    ).rejects.toThrow('timed out after 50 ms waiting for a condition never met');
    expect(calls).toBeGreaterThan(1);
  });

  it('rejects at once with the error the probe threw', async () => {
    let calls = 0;
    await expect(
      poll(
        'a failing probe',
        () => {
          calls += 1;
          throw new Error('AccessDenied');
        },
        1_000
      )
    ).rejects.toThrow('AccessDenied');
    expect(calls).toBe(1);
  });
});
