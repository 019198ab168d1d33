import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  objectWrite,
  objectWriteRefusal,
  readConditionOutcome,
  s3ObjectTarget,
} from '../src/http/s3-request.js';
import { listInS3Order } from '../src/s3-listing.js';

/** Just the parts of a request these pure functions read. */
const req = (
  method: string,
  url: string,
  headers: Record<string, string> = {},
  host = '127.0.0.1:4566'
) =>
  ({
    method,
    url,
    headers: { host, ...headers },
    rawHeaders: Object.entries(headers).flat(),
  }) as unknown as IncomingMessage;

describe('s3ObjectTarget: the literal key from the raw request target', () => {
  it('keeps dot segments, encoded dots, empty segments and a leading slash', () => {
    expect(s3ObjectTarget(req('PUT', '/b/uploads/a/../x.mp4'))).toEqual({
      bucket: 'b',
      key: 'uploads/a/../x.mp4',
    });
    expect(s3ObjectTarget(req('PUT', '/b/%2e%2e/x?uploads'))?.key).toBe('../x');
    expect(s3ObjectTarget(req('PUT', '/b//lead//x/'))?.key).toBe('/lead//x/');
    expect(s3ObjectTarget(req('PUT', '/b/a+b%20c%25%2F'))?.key).toBe('a+b c%/');
  });

  it('reads the bucket from a virtual-hosted Host, and has no key for bucket-level requests', () => {
    expect(s3ObjectTarget(req('GET', '/k/../v', {}, 'bkt.s3.example:4566'))).toEqual({
      bucket: 'bkt',
      key: 'k/../v',
    });
    expect(s3ObjectTarget(req('PUT', '/b/'))).toBeUndefined();
    expect(s3ObjectTarget(req('PUT', '/b?lifecycle'))).toBeUndefined();
    expect(s3ObjectTarget(req('PUT', '/b/%E0%A4%A'))).toBeUndefined();
  });
});

describe('objectWriteRefusal: S3 limits on key and user metadata', () => {
  const refusal = (r: IncomingMessage) => {
    const write = objectWrite(r);
    const target = s3ObjectTarget(r);
    return write && target ? objectWriteRefusal(r, target, write)?.code : 'not a write';
  };

  it('KeyTooLongError past 1,024 UTF-8 bytes, on every kind of write', () => {
    const at = `/b/${'k'.repeat(1024)}`;
    const over = `/b/${encodeURIComponent('é'.repeat(512))}x`;
    expect(refusal(req('PUT', at))).toBeUndefined();
    expect(refusal(req('PUT', over))).toBe('KeyTooLongError');
    expect(refusal(req('POST', `${over}?uploads`))).toBe('KeyTooLongError');
    expect(refusal(req('PUT', `${over}?partNumber=1&uploadId=u`))).toBe('KeyTooLongError');
  });

  it('MetadataTooLarge past 2,048 bytes of names (without x-amz-meta-) and values; a COPY keeps the source metadata', () => {
    const meta = (n: number) => ({ 'x-amz-meta-ab': 'v'.repeat(n - 2) });
    expect(refusal(req('PUT', '/b/k', meta(2048)))).toBeUndefined();
    expect(refusal(req('PUT', '/b/k', meta(2049)))).toBe('MetadataTooLarge');
    expect(refusal(req('POST', '/b/k?uploads', meta(2049)))).toBe('MetadataTooLarge');
    const copy = { 'x-amz-copy-source': '/b/src', ...meta(2049) };
    expect(refusal(req('PUT', '/b/k', copy))).toBeUndefined();
    expect(refusal(req('PUT', '/b/k', { ...copy, 'x-amz-metadata-directive': 'REPLACE' }))).toBe(
      'MetadataTooLarge'
    );
    expect(refusal(req('PUT', '/b/k?tagging', meta(4096)))).toBe('not a write');
  });
});

describe('readConditionOutcome: GetObject/HeadObject preconditions', () => {
  const object = { etag: '"abc"', lastModified: new Date('2026-01-01T00:00:00.900Z') };
  const lm = 'Thu, 01 Jan 2026 00:00:00 GMT';
  const before = 'Wed, 31 Dec 2025 23:59:59 GMT';

  it('answers 412, 304 or proceeds as the GetObject page lists', () => {
    expect(readConditionOutcome({ ifMatch: '"abc"' }, object)).toBeUndefined();
    expect(readConditionOutcome({ ifMatch: 'abc' }, object)).toBeUndefined();
    expect(readConditionOutcome({ ifMatch: '"x", "abc"' }, object)).toBeUndefined();
    expect(readConditionOutcome({ ifMatch: '"x"' }, object)).toBe(412);
    expect(readConditionOutcome({ ifNoneMatch: '"abc"' }, object)).toBe(304);
    expect(readConditionOutcome({ ifNoneMatch: '*' }, object)).toBe(304);
    expect(readConditionOutcome({ ifModifiedSince: lm }, object)).toBe(304);
    expect(readConditionOutcome({ ifModifiedSince: before }, object)).toBeUndefined();
    expect(readConditionOutcome({ ifUnmodifiedSince: before }, object)).toBe(412);
    expect(readConditionOutcome({ ifUnmodifiedSince: lm }, object)).toBeUndefined();
    expect(readConditionOutcome({ ifMatch: '"abc"', ifUnmodifiedSince: before }, object)).toBe(
      undefined
    );
    expect(readConditionOutcome({ ifNoneMatch: '"abc"', ifModifiedSince: before }, object)).toBe(
      304
    );
    expect(readConditionOutcome({ ifModifiedSince: 'not a date' }, object)).toBeUndefined();
  });
});

describe('listInS3Order', () => {
  const objs = (...keys: string[]) => keys.map((key) => ({ key }));

  it('orders by UTF-8 bytes and resumes after a common prefix without repeating it', () => {
    const all = objs('a/1', 'a/2', 'B', 'é', '😀', '\uffff');
    const first = listInS3Order(all, { delimiter: '/', maxKeys: 1 });
    expect(first).toEqual({ objects: [{ key: 'B' }], commonPrefixes: [], isTruncated: true });
    const second = listInS3Order(all, { delimiter: '/', maxKeys: 1, startAfter: 'B' });
    expect(second.commonPrefixes).toEqual(['a/']);
    const rest = listInS3Order(all, { delimiter: '/', startAfter: 'a/' });
    // U+FFFF is 3 bytes (EF BF BF), the emoji 4 (F0 ...): bytes order them unlike UTF-16.
    expect(rest.objects.map((o) => o.key)).toEqual(['é', '\uffff', '😀']);
    expect(rest.commonPrefixes).toEqual([]);
  });
});
