import { describe, expect, it } from 'vitest';
import { Faults } from '../src/faults.js';
import { conditionFailure, KeyLocks } from '../src/http/conditional-write.js';

describe('S3 SlowDown injection', () => {
  it('fails the requests whose draw falls under the rate, and counts them', () => {
    // Prepare: draws 0.05, 0.5, 0.09, 0.1 against a 10% rate.
    const draws = [0.05, 0.5, 0.09, 0.1];
    const faults = new Faults(0.1, () => draws.shift() ?? 1);
    // Act
    const answers = [1, 2, 3, 4].map(() => faults.slowDownS3());
    // Assess
    expect(answers).toEqual([true, false, true, false]);
    expect(faults.s3SlowDowns).toBe(2);
  });

  it('is off by default and refuses a rate outside 0–1', () => {
    expect(new Faults(undefined, () => 0).slowDownS3()).toBe(false);
    expect(() => new Faults('1.5')).toThrow(
      'The S3 SlowDown rate must be between 0 and 1, got 1.5'
    );
  });
});

describe('S3 conditional writes in front of fauxqs', () => {
  it('If-None-Match: * fails with 412 when the key exists, passes when it does not', () => {
    expect(conditionFailure({ ifNoneMatch: '*' }, '"abc"')).toMatchObject({
      status: 412,
      code: 'PreconditionFailed',
    });
    expect(conditionFailure({ ifNoneMatch: '*' }, undefined)).toBeUndefined();
  });

  it('If-Match passes on the same ETag (quotes aside), 412 on another, 404 on no object', () => {
    expect(conditionFailure({ ifMatch: '"abc"' }, 'abc')).toBeUndefined();
    expect(conditionFailure({ ifMatch: '"abc"' }, '"abd"')).toMatchObject({ status: 412 });
    expect(conditionFailure({ ifMatch: '"abc"' }, undefined)).toMatchObject({
      status: 404,
      code: 'NoSuchKey',
    });
  });

  it('serializes writers of one key and lets another key through', async () => {
    // Prepare
    const locks = new KeyLocks();
    const order: string[] = [];
    const releaseA1 = await locks.acquire('b/k');
    // Act
    const a2 = locks.acquire('b/k').then((release) => {
      order.push('a2');
      release();
    });
    const other = locks.acquire('b/other').then((release) => {
      order.push('other');
      release();
    });
    await other;
    order.push('a1 done');
    releaseA1();
    await a2;
    // Assess
    expect(order).toEqual(['other', 'a1 done', 'a2']);
  });
});
