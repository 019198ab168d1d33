import { readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/** Every file below `dir`, as sorted paths relative to it: to compare a folder before and after. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * A raw HTTP request to a local endpoint, for shapes the SDK does not produce: literal dot
 * segments, the AWS CLI's body-less PUT. `target` is sent as given (no normalisation).
 */
export function rawRequest(
  endpoint: string,
  method: string,
  target: string,
  headers: Record<string, string | number>,
  body?: Buffer
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: u.hostname, port: u.port, method, path: target, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          })
        );
      }
    );
    r.on('error', reject);
    r.end(body);
  });
}
