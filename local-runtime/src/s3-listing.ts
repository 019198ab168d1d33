/**
 * ListObjects/ListObjectsV2 order for fauxqs's S3Store.
 *
 * S3 lists keys "in UTF-8 binary order"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
 * fauxqs 2.4.1 sorts with `localeCompare` (so `B` comes after `a`) but skips
 * keys up to StartAfter / the continuation token with `<=` (code-unit order):
 * the two orders disagree, and a paginated listing of mixed-case or non-ASCII
 * keys silently leaves some out. This replaces the store's `listObjects` on our
 * own instance (no change to the package) with one order for both.
 */

interface Listed {
  key: string;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  maxKeys?: number;
  startAfter?: string;
  marker?: string;
}

/** UTF-8 binary order (= code point order), which JS `<` on UTF-16 is not above U+FFFF. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function listInS3Order<T extends Listed>(
  objects: Iterable<T>,
  options: ListOptions = {}
): { objects: T[]; commonPrefixes: string[]; isTruncated: boolean } {
  const prefix = options.prefix ?? '';
  const delimiter = options.delimiter || undefined;
  const maxKeys = options.maxKeys ?? 1000;
  const after = options.startAfter || options.marker || undefined;
  const afterBytes = after === undefined ? undefined : Buffer.from(after, 'utf8');
  const sorted = [...objects]
    .filter((o) => o.key.startsWith(prefix))
    .map((o) => ({ o, bytes: Buffer.from(o.key, 'utf8') }))
    .sort((x, y) => Buffer.compare(x.bytes, y.bytes));
  const result: T[] = [];
  const commonPrefixes: string[] = [];
  let isTruncated = false;
  let count = 0;
  for (const { o, bytes } of sorted) {
    if (afterBytes && Buffer.compare(bytes, afterBytes) <= 0) continue;
    if (delimiter) {
      const rest = o.key.slice(prefix.length);
      const at = rest.indexOf(delimiter);
      if (at >= 0) {
        const common = prefix + rest.slice(0, at + delimiter.length);
        if (after !== undefined && compareUtf8(common, after) <= 0) continue;
        if (commonPrefixes[commonPrefixes.length - 1] === common) continue;
        if (count >= maxKeys) {
          isTruncated = true;
          break;
        }
        commonPrefixes.push(common);
        count++;
        continue;
      }
    }
    if (count >= maxKeys) {
      isTruncated = true;
      break;
    }
    result.push(o);
    count++;
  }
  return { objects: result, commonPrefixes, isTruncated };
}
