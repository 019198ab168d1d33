import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApp } from 'fauxqs';
import { LocalRuntimeError } from './errors.js';
import type { Faults } from './faults.js';
import type { Logger } from './logger.js';
import { type ListOptions, listInS3Order } from './s3-listing.js';
import { type FauxqsS3StoreRestore, HashedS3Persistence } from './s3-persistence.js';
import {
  FaultyDelivery,
  type FauxqsSnsStore,
  type FauxqsSqsStore,
  type PublishAction,
} from './sns-delivery.js';
import { type FauxqsSqsAccess, type PollerQueue, StoreQueue } from './sqs/store-queue.js';

/** S3's own ceiling for a single PUT and for one UploadPart (5 GiB). */
export const S3_MAX_PUT_BYTES = 5 * 1024 ** 3;

/**
 * aws-chunked bodies carry a signature line per chunk on top of the payload
 * (about 90 bytes per 64 KiB chunk, 0.14 %); 1 % headroom keeps a 5 GiB
 * payload inside fauxqs's parser limit. The front door enforces the payload limit.
 */
const WIRE_LIMIT = Math.ceil(S3_MAX_PUT_BYTES * 1.01);

type FauxqsStores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;

/** The fauxqs 2.4.1 S3 store internals this module needs; the package does not export it. */
interface FauxqsS3Store {
  persistence?: unknown;
  buckets: Map<string, Map<string, { key: string }>>;
  listObjects(bucket: string, options?: ListOptions): unknown;
}

/** The fauxqs 2.4.1 internals this module needs; the package exports none of them. */
interface FauxqsInternals {
  S3Store: new () => FauxqsS3Store;
  SqsStore: new () => FauxqsSqsStore;
  SnsStore: new () => FauxqsSnsStore;
  publish: PublishAction;
  publishBatch: PublishAction;
  receiveMessage: FauxqsSqsAccess['receiveMessage'];
  deleteMessageBatch: FauxqsSqsAccess['deleteMessageBatch'];
  SnsError: new (
    ...args: never[]
  ) => Error & { code: string; statusCode: number; senderFault: boolean };
  snsErrorResponse(code: string, message: string, type: string): string;
}

/**
 * fauxqs's `startFauxqs()` cannot do two things the runtime needs: it always
 * listens on 0.0.0.0, and its body parser stops at 11 MiB (S3 allows 5 GiB per
 * PUT and per part). Its public `buildApp()` can, so the runtime starts the app
 * itself. The S3 store gets our own persistence (src/s3-persistence.ts, files
 * named by a hash of bucket and key, never by the key itself) so object bodies
 * live on disk, not in the heap; fauxqs does not export its S3Store class, hence
 * the lookup next to the package entry (pinned fauxqs version; checked at start).
 */
async function loadInternals(): Promise<FauxqsInternals> {
  try {
    // fauxqs exports only an `import` condition, so require.resolve() cannot find it, and
    // import.meta.resolve() is missing under vitest's module runner: walk the lookup paths.
    const dir = createRequire(import.meta.url)
      .resolve.paths('fauxqs')
      ?.map((p) => path.join(p, 'fauxqs'))
      .find((p) => existsSync(path.join(p, 'dist', 'app.js')));
    if (!dir) throw new Error('fauxqs is not installed');
    const entry = pathToFileURL(path.join(dir, 'dist', 'app.js'));
    const load = (file: string) => import(new URL(file, entry).href);
    const [{ S3Store }, { SqsStore }, { SnsStore }, sns, errors, xml, receive, deleteBatch] =
      await Promise.all([
        load('./s3/s3Store.js'),
        load('./sqs/sqsStore.js'),
        load('./sns/snsStore.js'),
        load('./sns/actions/publish.js'),
        load('./common/errors.js'),
        load('./common/xml.js'),
        load('./sqs/actions/receiveMessage.js'),
        load('./sqs/actions/deleteMessageBatch.js'),
      ]);
    const found = {
      S3Store,
      SqsStore,
      SnsStore,
      publish: sns.publish,
      publishBatch: sns.publishBatch,
      receiveMessage: receive.receiveMessage,
      deleteMessageBatch: deleteBatch.deleteMessageBatch,
      SnsError: errors.SnsError,
      snsErrorResponse: xml.snsErrorResponse,
    };
    const missing = Object.entries(found).filter(([, v]) => typeof v !== 'function');
    if (missing.length > 0) {
      throw new Error(`${missing.map(([k]) => k).join(', ')} not found`);
    }
    // The pollers wait on a queue's long poll themselves (src/sqs/store-queue.ts).
    if (typeof SqsStore.prototype.getQueue !== 'function') {
      throw new Error('SqsStore has no getQueue');
    }
    const probe = new S3Store();
    // The store must still consult a `persistence` slot on every write (see s3Store.js).
    if (!('persistence' in probe) || !(probe.buckets instanceof Map)) {
      throw new Error('S3Store has no persistence slot or buckets map');
    }
    return found;
  } catch (err) {
    throw new LocalRuntimeError(
      `fauxqs internals changed (expected dist/s3/s3Store.js, dist/sqs/sqsStore.js, dist/sns/snsStore.js, dist/sns/actions/publish.js, dist/sqs/actions/receiveMessage.js, dist/sqs/actions/deleteMessageBatch.js, dist/common/errors.js and dist/common/xml.js of fauxqs 2.4.1): ${(err as Error).message}`
    );
  }
}

export interface Emulator {
  /** fauxqs's own port, on `host`; only the runtime itself talks to it. */
  readonly port: number;
  readonly url: string;
  /** Where object bodies are stored (removed at stop unless it is a --state-dir's). */
  readonly storageDir: string;
  /** The S3 store's persistence: file names are hashes, never keys. */
  readonly s3Objects: HashedS3Persistence;
  /**
   * A queue for an event source mapping's poller: fauxqs's own SQS actions called
   * in-process (no HTTP, no SigV4), with the injected SQS faults.
   */
  pollerQueue(queueUrl: string): PollerQueue;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  host: string;
  region: string;
  /**
   * Host names (no port) fauxqs answers to; a request with another Host, or with any
   * Origin, is refused (403) before fauxqs sees it, so a web page cannot reach the
   * emulator's own port around the front door's checks (docs/security.md).
   */
  hostNames: readonly string[];
  /** SNS delivery and SQS API faults (chaos tests); none when absent. */
  faults?: Faults;
  /**
   * Keep S3 here across restarts (a folder `prepareStateDir` checked): loaded at
   * start, left in place at stop. Default: a temporary folder removed at stop.
   */
  s3Dir?: string;
  logger?: Logger;
}

/** Starts fauxqs (S3, SNS, SQS) on `host` with a random port. */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const fauxqs = await loadInternals();
  const kept = options.s3Dir !== undefined;
  const storageDir = options.s3Dir ?? mkdtempSync(path.join(tmpdir(), 'local-runtime-s3-'));
  const removeStorage = () => {
    if (!kept) rmSync(storageDir, { recursive: true, force: true });
  };
  const s3Store = new fauxqs.S3Store();
  const s3Objects = new HashedS3Persistence(storageDir);
  // What fauxqs's own startup does with a persistence (app.js: s3Persistence.loadS3(s3Store)):
  // buckets, objects' metadata (bodies stay on disk, read on demand) and multipart uploads.
  if (kept) s3Objects.loadS3(s3Store as unknown as FauxqsS3StoreRestore);
  s3Store.persistence = s3Objects;
  const listObjects = s3Store.listObjects.bind(s3Store);
  s3Store.listObjects = (bucket, options) => {
    const objects = s3Store.buckets.get(bucket);
    // fauxqs's own call raises NoSuchBucket.
    return objects ? listInS3Order(objects.values(), options) : listObjects(bucket, options);
  };
  const sqsStore = new fauxqs.SqsStore();
  const snsStore = new fauxqs.SnsStore();
  const app = buildApp({
    logger: false,
    defaultRegion: options.region,
    stores: { s3Store, sqsStore, snsStore } as unknown as FauxqsStores,
  });
  app.addHook('onRequest', (req, reply, done) => {
    const name = String(req.headers.host ?? '')
      .toLowerCase()
      .replace(/:\d+$/, '');
    if (req.headers.origin !== undefined || !options.hostNames.includes(name)) {
      reply
        .code(403)
        .send({ message: 'fauxqs answers only the local runtime (no Origin, a loopback Host)' });
      return;
    }
    done();
  });
  const delivery = options.faults
    ? installFaults(app, fauxqs, options.faults, snsStore, sqsStore, options.logger)
    : undefined;
  // Same three parsers fauxqs registers, the S3 catch-all with S3's limit instead of 11 MiB.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-amz-json-1.0',
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    }
  );
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    }
  );
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WIRE_LIMIT }, (_req, body, done) =>
    done(null, body)
  );
  try {
    await app.listen({ port: 0, host: options.host });
  } catch (err) {
    removeStorage();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    storageDir,
    s3Objects,
    pollerQueue: (queueUrl) =>
      new StoreQueue(
        {
          store: sqsStore as unknown as FauxqsSqsAccess['store'],
          receiveMessage: fauxqs.receiveMessage,
          deleteMessageBatch: fauxqs.deleteMessageBatch,
        },
        queueUrl,
        options.faults
      ),
    stop() {
      delivery?.stop();
      stopped ??= app.close().then(removeStorage);
      return stopped;
    },
  };
}

/**
 * Faults at fauxqs's door, so they reach every caller (the functions through the
 * endpoint, and the runtime's own pollers and S3 notifier, which talk to fauxqs
 * directly): SQS ReceiveMessage/DeleteMessage(Batch) answered with an error, and
 * SNS Publish run through FaultyDelivery. fauxqs serves SQS as JSON (X-Amz-Target)
 * and SNS as the query protocol (form Action) on POST /.
 */
function installFaults(
  app: ReturnType<typeof buildApp>,
  fauxqs: FauxqsInternals,
  faults: Faults,
  snsStore: FauxqsSnsStore,
  sqsStore: FauxqsSqsStore,
  logger?: Logger
): FaultyDelivery {
  const delivery = new FaultyDelivery(faults, snsStore, sqsStore, logger);
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || request.url !== '/') return;
    const target = String(request.headers['x-amz-target'] ?? '');
    if (target.startsWith('AmazonSQS.')) {
      const fault = faults.sqsError(target.slice('AmazonSQS.'.length));
      if (!fault) return;
      reply
        .code(fault.status)
        .header('content-type', 'application/x-amz-json-1.0')
        .header('x-amzn-query-error', fault.queryError);
      return reply.send({ __type: fault.type, message: fault.message });
    }
    const body = request.body as Record<string, string> | undefined;
    const action =
      body?.Action === 'Publish'
        ? fauxqs.publish
        : body?.Action === 'PublishBatch'
          ? fauxqs.publishBatch
          : undefined;
    if (!action || !faults.snsActive) return;
    reply.header('content-type', 'text/xml');
    try {
      return reply.send(delivery.publish(action, body!));
    } catch (err) {
      if (!(err instanceof fauxqs.SnsError)) throw err;
      reply.code(err.statusCode);
      return reply.send(
        fauxqs.snsErrorResponse(err.code, err.message, err.senderFault ? 'Sender' : 'Receiver')
      );
    }
  });
  return delivery;
}
