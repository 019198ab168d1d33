import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  CliError,
  checkReachable,
  describeError,
  isNotFound,
  parseThumbnailTimesOption,
  resolveUploadKey,
  uploadVideo,
} from '../../cli/src/index.js';
import { extensionOf } from '../../contract/index.js';
import {
  checkLocalRequest,
  corsHeaders,
  isCrossSiteEmbed,
  type LocalHttpPolicy,
  preflightHeaders,
} from '../../shared/local-http-guard.js';
import type { Assets } from './assets.js';
import {
  checkTenantFilter,
  executionGraph,
  getArtifact,
  listVideos,
  metricsPage,
  NotFoundError,
  presignArtifact,
  proxiesArtifacts,
  queueDepths,
  rawHistory,
  type Target,
  videoDetail,
} from './data.js';
import { hlsKeyFromPath, videoIdFromPath } from './keys.js';
import {
  peekDeadLetterQueue,
  redrivableDeadLetterQueues,
  redriveDeadLetterQueue,
  redriveVideo,
  stopVideo,
} from './ops.js';
import {
  type AllowLists,
  consolePolicy,
  hasToken,
  isMutating,
  TOKEN_HEADER,
  withToken,
} from './security.js';

/**
 * The console's HTTP server: the page and its assets, a small JSON API over
 * data.ts, the artifact proxy and the upload route. Hand-written on node:http
 * because the surface is nine routes. Every request passes the Host/Origin check
 * first, every mutating one also the token check (security.ts, docs/security.md).
 */

export interface ConsoleSecurity {
  /** The per-process token the page carries (security.ts). */
  token: string;
  /** The address the server is bound to (for the Host check). */
  bindHost: string;
  allowLists: AllowLists;
}

/** Where the page's player reads a video's HLS files: `/api/hls/<videoId>/<file under hls/>`. */
export const HLS_ROUTE = '/api/hls/';

/** On every answer: no MIME sniffing, no framing (the upload control must not be clickjacked). */
const BASE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const;

const json = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, {
    ...BASE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(text);
};

/** Errors reach the page as `{error}` with a status it can act on. */
const fail = (res: ServerResponse, err: unknown, endpoint: string | undefined) => {
  const status =
    err instanceof NotFoundError || isNotFound(err)
      ? 404
      : err instanceof CliError
        ? 400
        : // Anything else is the target failing us: the endpoint is down or refused.
          502;
  if (!res.headersSent) json(res, status, { error: describeError(err, endpoint) });
  else res.destroy();
};

/** The upload body goes to a temp file first: the CLI's upload path reads from a file. */
const receiveUpload = async (t: Target, req: IncomingMessage, url: URL) => {
  const name = basename(url.searchParams.get('name') ?? '');
  if (!name) throw new CliError('upload needs a file name (?name=)');
  const times = url.searchParams.get('thumbnailTimes');
  const thumbnailTimes = times ? parseThumbnailTimesOption(times) : undefined;
  const key = resolveUploadKey(name, undefined);
  const size = Number(req.headers['content-length']);
  if (!Number.isInteger(size) || size < 0) throw new CliError('upload needs a Content-Length');
  const dir = await mkdtemp(join(tmpdir(), 'console-upload-'));
  try {
    // The temp file's name is ours, not the sender's (`..` would name the parent): only a
    // plain extension is kept, for the Content-Type the upload derives from it.
    const ext = extensionOf(name);
    const file = join(dir, /^[a-z0-9]{1,10}$/.test(ext) ? `upload.${ext}` : 'upload');
    await pipeline(req, createWriteStream(file));
    await checkReachable(t.clients.s3, t.outputs.uploadBucket, t.clients.endpoint);
    const uploaded = await uploadVideo({
      s3: t.clients.s3,
      bucket: t.outputs.uploadBucket,
      key,
      file,
      size,
      thumbnailTimes,
    });
    return { videoId: uploaded.videoId, key, source: uploaded.source };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

export const createConsoleServer = (
  t: Target,
  assets: Assets,
  security: ConsoleSecurity
): Server => {
  // The page carries the token; it changes with each process, so the page is never cached.
  const page = new Map(
    [...assets].map(([path, a]) => [
      path,
      a.type.startsWith('text/html') ? { ...a, body: withToken(a.body, security.token) } : a,
    ])
  );
  let policy: LocalHttpPolicy | undefined;
  // Which DLQs `redrive dlq` can move: RedrivePolicies do not change while the stack runs.
  let redrivable: Promise<Set<string>> | undefined;
  const redrivableNow = () => {
    redrivable ??= redrivableDeadLetterQueues(t).catch((err: unknown) => {
      redrivable = undefined;
      throw err;
    });
    return redrivable;
  };
  const server = createServer(async (req, res) => {
    policy ??= consolePolicy(
      (server.address() as AddressInfo).port,
      security.bindHost,
      security.allowLists
    );
    const verdict = checkLocalRequest(req.headers, policy);
    if (!verdict.allowed) {
      req.resume();
      json(res, verdict.status, { error: verdict.message });
      return;
    }
    if (verdict.corsOrigin) {
      const method = req.headers['access-control-request-method'];
      if (req.method === 'OPTIONS' && typeof method === 'string') {
        res.writeHead(
          204,
          preflightHeaders(
            verdict.corsOrigin,
            method,
            req.headers['access-control-request-headers']
          )
        );
        res.end();
        return;
      }
      for (const [k, v] of Object.entries(corsHeaders(verdict.corsOrigin))) res.setHeader(k, v);
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    if (isCrossSiteEmbed(req.headers)) {
      json(res, 403, {
        error:
          `console: refused ${path} to another site's page (Sec-Fetch-Site: ` +
          `${req.headers['sec-fetch-site']}): open the console itself instead`,
      });
      return;
    }
    if (isMutating(req.method) && !hasToken(req, security.token)) {
      req.resume();
      json(res, 403, {
        error:
          `console: ${req.method} ${path} needs the ${TOKEN_HEADER} header this console's page ` +
          'carries (reload the page if the console was restarted)',
      });
      return;
    }
    try {
      const asset = req.method === 'GET' ? page.get(path) : undefined;
      if (asset) {
        res.writeHead(200, {
          ...BASE_HEADERS,
          'content-type': asset.type,
          'cache-control': asset.type.startsWith('text/html') ? 'no-store' : 'no-cache',
        });
        res.end(asset.body);
        return;
      }
      if (req.method === 'GET' && path === '/api/target') {
        json(res, 200, {
          stackName: t.outputs.stackName,
          outputsFile: t.outputs.file,
          endpoint: t.clients.endpoint ?? 'AWS',
          uploadBucket: t.outputs.uploadBucket,
          outputBucket: t.outputs.outputBucket,
        });
        return;
      }
      if (req.method === 'GET' && path === '/api/videos') {
        const tenant = url.searchParams.get('tenant');
        json(res, 200, await listVideos(t, 30, tenant ? checkTenantFilter(tenant) : undefined));
        return;
      }
      if (req.method === 'GET' && path === '/api/metrics') {
        json(res, 200, await metricsPage(t));
        return;
      }
      if (req.method === 'GET' && path === '/api/queues') {
        const [queues, canRedrive] = await Promise.all([queueDepths(t), redrivableNow()]);
        json(res, 200, {
          queues: queues.map((q) => ({ ...q, redrivable: canRedrive.has(q.name) })),
        });
        return;
      }
      // The operator actions (ops.ts): POST only, so the token check above has run.
      const queueAction = /^\/api\/queues\/([A-Za-z0-9]{1,128})\/(peek|redrive)$/.exec(path);
      if (req.method === 'POST' && queueAction) {
        const name = queueAction[1] ?? '';
        json(
          res,
          200,
          queueAction[2] === 'peek'
            ? await peekDeadLetterQueue(t, name)
            : await redriveDeadLetterQueue(t, name)
        );
        return;
      }
      const videoAction = /^\/api\/videos\/([^/]+)\/(stop|redrive)$/.exec(path);
      if (req.method === 'POST' && videoAction) {
        const id = videoIdFromPath(videoAction[1] ?? '');
        json(
          res,
          200,
          videoAction[2] === 'stop' ? await stopVideo(t, id) : await redriveVideo(t, id)
        );
        return;
      }
      const video = /^\/api\/videos\/([^/]+)(\/history|\/graph)?$/.exec(path);
      if (req.method === 'GET' && video) {
        const id = videoIdFromPath(video[1] ?? '');
        json(
          res,
          200,
          video[2] === '/history'
            ? await rawHistory(t, id)
            : video[2] === '/graph'
              ? await executionGraph(t, id)
              : await videoDetail(t, id)
        );
        return;
      }
      // The player's route (docs/console.md): always proxied, on AWS too. A playlist names its
      // segments by relative URI, which a player resolves against the URL it fetched; behind a
      // redirect that is the presigned S3 URL, so the next fetch would go to S3 unsigned (and
      // cross-origin, which the output bucket's missing CORS rules refuse).
      if (req.method === 'GET' && path.startsWith(HLS_ROUTE)) {
        const a = await getArtifact(
          t,
          hlsKeyFromPath(path.slice(HLS_ROUTE.length)),
          req.headers.range
        );
        res.writeHead(a.status, {
          ...BASE_HEADERS,
          'content-security-policy': "sandbox; default-src 'none'",
          // A published file never changes under its key, but a redrive may publish it again.
          'cache-control': 'no-cache',
          ...a.headers,
        });
        await pipeline(a.body, res);
        return;
      }
      if (req.method === 'GET' && path === '/api/artifact') {
        const key = url.searchParams.get('key') ?? '';
        if (!proxiesArtifacts(t)) {
          res.writeHead(302, { location: await presignArtifact(t, key) });
          res.end();
          return;
        }
        const a = await getArtifact(t, key, req.headers.range);
        // An artifact opened on its own (the manifest link) runs nothing in this origin.
        res.writeHead(a.status, {
          ...BASE_HEADERS,
          'content-security-policy': "sandbox; default-src 'none'",
          ...a.headers,
        });
        await pipeline(a.body, res);
        return;
      }
      if (req.method === 'POST' && path === '/api/upload') {
        json(res, 200, await receiveUpload(t, req, url));
        return;
      }
      json(res, 404, { error: `no such page: ${req.method} ${path}` });
    } catch (err) {
      fail(res, err, t.clients.endpoint);
    }
  });
  return server;
};
