import { describe, expect, it } from 'vitest';
import {
  drawDeliveryFailures,
  Faults,
  retryDelayTotalMs,
  SNS_SQS_MAX_RETRIES,
  snsRetryDelayMs,
} from '../src/faults.js';
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

describe("SNS→SQS delivery faults follow SNS's delivery policy for SQS endpoints", () => {
  it('spaces retries as the policy does: 3 immediate, 2 at 1 s, 10 backing off to 20 s, then 20 s', () => {
    // Act
    const delays = Array.from({ length: 17 }, (_, i) => snsRetryDelayMs(i + 1));
    // Assess (sns-message-delivery-retries.html, AWS managed endpoints)
    expect(delays.slice(0, 5)).toEqual([0, 0, 0, 1_000, 1_000]);
    expect(delays[5]).toBe(1_000);
    expect(delays[14]).toBe(20_000);
    for (let i = 6; i < 15; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]);
    expect(delays[15]).toBe(20_000);
    expect(SNS_SQS_MAX_RETRIES).toBe(100_015);
    // 100,000 retries 20 s apart: the policy spans about 23 days.
    const days = retryDelayTotalMs(SNS_SQS_MAX_RETRIES, () => 0.5) / 86_400_000;
    expect(days).toBeGreaterThan(23);
    expect(days).toBeLessThan(23.2);
  });

  it('draws failed attempts geometrically; a rate of 1 exhausts the policy', () => {
    // P(failures >= k) = rate^k: with 0.3, draws from 0.7 up fail once, from 0.91 twice.
    expect(drawDeliveryFailures(0.3, () => 0.65)).toEqual({ failures: 0, exhausted: false });
    expect(drawDeliveryFailures(0.3, () => 0.71).failures).toBe(1);
    expect(drawDeliveryFailures(0.3, () => 0.92).failures).toBe(2);
    expect(drawDeliveryFailures(0, () => 0.99)).toEqual({ failures: 0, exhausted: false });
    expect(drawDeliveryFailures(1, () => 0)).toEqual({
      failures: SNS_SQS_MAX_RETRIES + 1,
      exhausted: true,
    });
  });

  it('counts what it injects and compresses the retry time by the scale', () => {
    // Prepare: every attempt fails, 23 days compressed a million times.
    const faults = new Faults(undefined, () => 0.5, {
      LOCAL_FAULT_SNS_DELIVERY_ERROR_RATE: '1',
      LOCAL_FAULT_SNS_RETRY_TIME_SCALE: '0.000001',
    });
    // Act
    const fate = faults.snsDelivery();
    // Assess
    expect(fate.exhausted).toBe(true);
    expect(fate.duplicate).toBe(false);
    expect(fate.delayMs).toBeGreaterThan(1_900);
    expect(fate.delayMs).toBeLessThan(2_100);
    expect(faults.counts.snsDeliveryFailures).toBe(SNS_SQS_MAX_RETRIES + 1);
  });

  it('answers SQS receive and delete calls with a retryable error at its rate, nothing else', () => {
    // Prepare: draws alternate "hit" and "which error".
    const draws = [0.1, 0.2, 0.1, 0.7, 0.9];
    const faults = new Faults(undefined, () => draws.shift() ?? 1, {
      LOCAL_FAULT_SQS_RECEIVE_ERROR_RATE: '0.5',
      LOCAL_FAULT_SQS_DELETE_ERROR_RATE: '0.5',
    });
    // Act
    const receive = faults.sqsError('ReceiveMessage');
    const del = faults.sqsError('DeleteMessageBatch');
    const send = faults.sqsError('SendMessage');
    const spared = faults.sqsError('DeleteMessage');
    // Assess
    expect(receive).toMatchObject({ status: 500, queryError: 'InternalFailure;Receiver' });
    expect(del).toMatchObject({ status: 400, queryError: 'ThrottlingException;Sender' });
    expect(send).toBeUndefined();
    expect(spared).toBeUndefined();
    expect(faults.counts).toMatchObject({ sqsReceiveErrors: 1, sqsDeleteErrors: 1 });
  });

  it('fails the next calls on request, then goes back to the rate', () => {
    // Prepare: a rate of 0, two deletes forced.
    const faults = new Faults(undefined, () => 0.9, {});
    faults.failNextSqs('DeleteMessage', 2);
    // Act
    const answers = [1, 2, 3].map(() => faults.sqsError('DeleteMessageBatch') !== undefined);
    // Assess
    expect(answers).toEqual([true, true, false]);
    expect(faults.counts.sqsDeleteErrors).toBe(2);
  });

  it('refuses rates and scales outside 0–1, naming the fault', () => {
    expect(
      () => new Faults(undefined, Math.random, { LOCAL_FAULT_SNS_DUPLICATE_RATE: '2' })
    ).toThrow('The SNS duplicate rate must be between 0 and 1, got 2');
    expect(() => {
      new Faults(undefined).snsRetryTimeScale = -1;
    }).toThrow('The SNS retry time scale must be between 0 and 1, got -1');
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
