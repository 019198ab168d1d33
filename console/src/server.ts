import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
import type { Assets } from './assets.js';
import {
  getArtifact,
  listVideos,
  NotFoundError,
  presignArtifact,
  proxiesArtifacts,
  queueDepths,
  rawHistory,
  type Target,
  videoDetail,
} from './data.js';

/**
 * The console's HTTP server: the page and its assets, a small JSON API over
 * data.ts, the artifact proxy and the upload route. Hand-written on node:http
 * because the surface is eight routes.
 */

const json = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, {
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
    const file = join(dir, name);
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

export const createConsoleServer = (t: Target, assets: Assets): Server =>
  createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    try {
      const asset = req.method === 'GET' ? assets.get(path) : undefined;
      if (asset) {
        res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
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
        json(res, 200, { videos: await listVideos(t, 30) });
        return;
      }
      if (req.method === 'GET' && path === '/api/queues') {
        json(res, 200, { queues: await queueDepths(t) });
        return;
      }
      const video = /^\/api\/videos\/([^/]+)(\/history)?$/.exec(path);
      if (req.method === 'GET' && video) {
        const id = decodeURIComponent(video[1] ?? '');
        json(res, 200, video[2] ? await rawHistory(t, id) : await videoDetail(t, id));
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
        res.writeHead(a.status, a.headers);
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
