import { describe, expect, it } from 'vitest';
import { writtenObject } from '../src/http/router.js';

/**
 * The S3 event names the bytes its request stored, read from the write's own answer:
 * a HEAD afterwards could already see the next upload to the same key.
 */
describe('writtenObject', () => {
  it('takes a PutObject ETag from its header and the size from the payload', () => {
    expect(writtenObject('ObjectCreated:Put', { etag: '"abc123"' }, Buffer.alloc(0), 42)).toEqual({
      eTag: 'abc123',
      size: 42,
    });
  });

  it.each([
    ['ObjectCreated:CompleteMultipartUpload', '<ETag>&quot;9f-2&quot;</ETag>', '9f-2'],
    ['ObjectCreated:CompleteMultipartUpload', '<ETag>"9f-2"</ETag>', '9f-2'],
    [
      'ObjectCreated:Copy',
      '<CopyObjectResult><ETag>&#34;c0ffee&#34;</ETag></CopyObjectResult>',
      'c0ffee',
    ],
  ] as const)(
    'takes a %s ETag from its XML answer (%s), size left to a pinned HEAD',
    (event, xml, eTag) => {
      expect(writtenObject(event, {}, Buffer.from(xml), undefined)).toEqual({ eTag });
    }
  );
});
