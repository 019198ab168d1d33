import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Serves local files over HTTP on 127.0.0.1 with `Range` support, the way S3
 * answers a presigned GET, and counts the bytes it sends. Tests use it to run
 * the branch kinds on a URL (as in Lambda) and to measure how much of a
 * source a kind actually reads.
 */
export interface RangeServer {
  /** The URL of a file (any path on this machine). */
  urlFor(path: string): string;
  /** Bytes sent since the last reset, and the requests that asked for them. */
  readonly stats: { bytes: number; requests: number; ranged: number };
  resetStats(): void;
  close(): Promise<void>;
}

export const startRangeServer = async (): Promise<RangeServer> => {
  const stats = { bytes: 0, requests: 0, ranged: 0 };
  const server: Server = createServer((req, res) => {
    stats.requests++;
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = size - 1;
    if (m) {
      stats.ranged++;
      if (m[1] === '') start = Math.max(0, size - Number(m[2]));
      else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, {
        'Content-Range': `bytes ${start}-${end}/${size}`,
        'Content-Length': end - start + 1,
        'Accept-Ranges': 'bytes',
      });
    } else {
      res.writeHead(200, { 'Content-Length': size, 'Accept-Ranges': 'bytes' });
    }
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(path, { start, end });
    stream.on('data', (chunk) => {
      stats.bytes += chunk.length;
    });
    stream.pipe(res);
    // ffmpeg closes connections it no longer needs (after a seek); that is not an error.
    res.on('close', () => stream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    urlFor: (path) => `http://127.0.0.1:${port}${encodeURI(path)}`,
    stats,
    resetStats: () => Object.assign(stats, { bytes: 0, requests: 0, ranged: 0 }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
