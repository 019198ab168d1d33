import http, { type IncomingMessage } from 'node:http';

/**
 * S3 conditional writes (PUT with If-None-Match: * or If-Match: <etag>), which
 * fauxqs 2.4.1 ignores: it would overwrite regardless. The front door makes
 * them atomic per key: writes to one key are serialized, the current ETag is
 * read with a HEAD, and a failed condition is answered as S3 does (412
 * PreconditionFailed; 404 NoSuchKey for If-Match on a missing key) without
 * touching storage.
 */
export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
}

export function conditionalHeaders(req: IncomingMessage): ConditionalHeaders | undefined {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return { ifMatch: ifMatch as string | undefined, ifNoneMatch: ifNoneMatch as string | undefined };
}

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/"/g, '');

/** What to answer instead of writing, or undefined when the condition holds. */
export function conditionFailure(
  headers: ConditionalHeaders,
  currentEtag: string | undefined
): { status: number; code: string; message: string } | undefined {
  if (headers.ifNoneMatch !== undefined && currentEtag !== undefined) {
    return {
      status: 412,
      code: 'PreconditionFailed',
      message: 'At least one of the pre-conditions you specified did not hold',
    };
  }
  if (headers.ifMatch !== undefined) {
    if (currentEtag === undefined) {
      return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    }
    if (unquote(headers.ifMatch) !== unquote(currentEtag)) {
      return {
        status: 412,
        code: 'PreconditionFailed',
        message: 'At least one of the pre-conditions you specified did not hold',
      };
    }
  }
  return undefined;
}

/** The object's current ETag in fauxqs, or undefined when there is none. */
export function headEtag(
  fauxqsPort: number,
  agent: http.Agent,
  req: IncomingMessage
): Promise<string | undefined> {
  const headers = { ...req.headers };
  for (const h of [
    'if-match',
    'if-none-match',
    'content-length',
    'content-type',
    'content-md5',
    'transfer-encoding',
    'x-amz-decoded-content-length',
    'content-encoding',
  ]) {
    delete headers[h];
  }
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: '127.0.0.1', port: fauxqsPort, method: 'HEAD', path: req.url, headers, agent },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(res.statusCode === 200 ? String(res.headers.etag ?? '') : undefined)
        );
      }
    );
    r.on('error', reject);
    r.end();
  });
}

/** One chain of writes per bucket/key, so check-then-write cannot interleave. */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
