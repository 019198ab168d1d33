import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApp } from 'fauxqs';
import { LocalRuntimeError } from './errors.js';

/** S3's own ceiling for a single PUT and for one UploadPart (5 GiB). */
export const S3_MAX_PUT_BYTES = 5 * 1024 ** 3;

/**
 * aws-chunked bodies carry a signature line per chunk on top of the payload
 * (about 90 bytes per 64 KiB chunk, 0.14 %); 1 % headroom keeps a 5 GiB
 * payload inside fauxqs's parser limit. The front door enforces the payload limit.
 */
const WIRE_LIMIT = Math.ceil(S3_MAX_PUT_BYTES * 1.01);

type FauxqsStores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;

/** The fauxqs 2.4.1 internals this module needs; the package exports neither class. */
interface FauxqsInternals {
  S3Store: new () => { persistence?: unknown };
  FileS3Persistence: new (dir: string) => unknown;
}

/**
 * fauxqs's `startFauxqs()` cannot do two things the runtime needs: it always
 * listens on 0.0.0.0, and its body parser stops at 11 MiB (S3 allows 5 GiB per
 * PUT and per part). Its public `buildApp()` can, so the runtime starts the app
 * itself. The S3 store gets fauxqs's file persistence so object bodies live on
 * disk, not in the heap; the two classes for that are not exported, hence the
 * lookup next to the package entry (pinned fauxqs version; checked at start).
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
    const [{ S3Store }, { FileS3Persistence }] = await Promise.all([
      import(new URL('./s3/s3Store.js', entry).href),
      import(new URL('./s3/fileS3Persistence.js', entry).href),
    ]);
    if (typeof S3Store !== 'function' || typeof FileS3Persistence !== 'function') {
      throw new Error('S3Store or FileS3Persistence is not a class');
    }
    return { S3Store, FileS3Persistence };
  } catch (err) {
    throw new LocalRuntimeError(
      `fauxqs internals changed (expected dist/s3/s3Store.js and dist/s3/fileS3Persistence.js of fauxqs 2.4.1): ${(err as Error).message}`
    );
  }
}

export interface Emulator {
  /** fauxqs's own port, on `host`; only the runtime itself talks to it. */
  readonly port: number;
  readonly url: string;
  /** Where object bodies are stored while the runtime runs (removed at stop). */
  readonly storageDir: string;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  host: string;
  region: string;
}

/** Starts fauxqs (S3, SNS, SQS) on `host` with a random port. */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const { S3Store, FileS3Persistence } = await loadInternals();
  const storageDir = mkdtempSync(path.join(tmpdir(), 'local-runtime-s3-'));
  const s3Store = new S3Store();
  s3Store.persistence = new FileS3Persistence(storageDir);
  const app = buildApp({
    logger: false,
    defaultRegion: options.region,
    // Only the S3 store is ours; fauxqs creates the SQS and SNS stores when absent.
    stores: { s3Store } as unknown as FauxqsStores,
  });
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
    rmSync(storageDir, { recursive: true, force: true });
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    storageDir,
    stop() {
      stopped ??= app.close().then(() => rmSync(storageDir, { recursive: true, force: true }));
      return stopped;
    },
  };
}
