import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IIoHost, IoMessage, IoRequest } from '@aws-cdk/toolkit-lib';
import { Toolkit } from '@aws-cdk/toolkit-lib';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_NAME } from '../../contract/stack.js';
import { assertBundled, openAssembly, unstagedAssets } from '../../scripts/localstack/assembly.js';
import { DeployError } from '../../scripts/localstack/errors.js';
import {
  checkHealth,
  type Health,
  unavailableServices,
  versionWarning,
} from '../../scripts/localstack/health.js';
import {
  bootstrapEnvironment,
  defaultOptions,
  localstackEnv,
  synthArgs,
} from '../../scripts/localstack/options.js';
import { DeployIoHost } from '../../scripts/localstack/toolkit.js';

// ---- factories -----------------------------------------------------------------------------------

/** A health body as LocalStack 4.14.0 reports it, with every service the stack needs running. */
const healthFactory = (overrides: Partial<Health> = {}): Health => ({
  version: '4.14.0',
  services: {
    cloudformation: 'running',
    events: 'available',
    iam: 'available',
    kms: 'available',
    lambda: 'running',
    logs: 'available',
    s3: 'running',
    sns: 'running',
    sqs: 'running',
    ssm: 'available',
    stepfunctions: 'running',
    sts: 'available',
  },
  ...overrides,
});

/** An IoHost that keeps what it was told instead of printing it. */
class CollectingIoHost implements IIoHost {
  readonly messages: IoMessage<unknown>[] = [];
  readonly requests: IoRequest<unknown, unknown>[] = [];
  async notify(msg: IoMessage<unknown>) {
    this.messages.push(msg);
  }
  async requestResponse<T>(msg: IoRequest<unknown, T>): Promise<T> {
    this.requests.push(msg);
    return msg.defaultResponse;
  }
}

const requestFactory = (code: string, defaultResponse: unknown): IoRequest<unknown, unknown> => ({
  time: new Date(),
  level: 'info',
  action: 'deploy',
  code: code as IoRequest<unknown, unknown>['code'],
  message: 'Do you wish to deploy these changes?',
  data: {},
  defaultResponse,
});

const tempDirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A real cloud assembly with one resource-only stack named like ours (no assets to bundle). */
const assemblyFactory = () => {
  const outdir = tempDir('asm-');
  const app = new App({ outdir });
  new CfnResource(new Stack(app, STACK_NAME), 'Queue', { type: 'AWS::SQS::Queue' });
  app.synth();
  return outdir;
};

// ---- options ---------------------------------------------------------------------------------------

describe('localstack:deploy options', () => {
  it('defaults to the 127.0.0.1:4566 gateway, cdk.out and the outputs file the e2e setup reads', () => {
    // Act
    const o = defaultOptions([], {});
    // Assess
    expect(o).toEqual({
      endpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      outputsFile: '.localstack/outputs.json',
      reuseAssembly: false,
      assemblyDir: 'cdk.out',
    });
  });

  it('takes --reuse-assembly and --region from the command line and the rest from the environment', () => {
    // Act
    const o = defaultOptions(['--reuse-assembly', '--region', 'eu-west-1'], {
      LOCALSTACK_ENDPOINT: 'http://127.0.0.1:4599/',
      LOCALSTACK_ASSEMBLY_DIR: 'private.out',
      LOCALSTACK_OUTPUTS_FILE: 'elsewhere/outputs.json',
      AWS_REGION: 'us-west-2',
    });
    // Assess
    expect(o).toEqual({
      endpoint: 'http://127.0.0.1:4599',
      region: 'eu-west-1',
      outputsFile: 'elsewhere/outputs.json',
      reuseAssembly: true,
      assemblyDir: 'private.out',
    });
    expect(bootstrapEnvironment(o)).toBe('aws://000000000000/eu-west-1');
  });

  it('rejects an unknown flag instead of ignoring it', () => {
    // Act + Assess
    expect(() => defaultOptions(['--reuse-asembly'], {})).toThrow(/--reuse-asembly/);
  });

  it('rejects a region that is not a region name', () => {
    // Act + Assess
    expect(() => defaultOptions(['--region', 'US East 1'], {})).toThrow(/not an AWS region name/);
  });

  it('synthesizes into the directory it deploys from, with no context flags', () => {
    // Prepare
    const o = defaultOptions([], { LOCALSTACK_ASSEMBLY_DIR: 'private.out' });
    // Act
    const args = synthArgs(o);
    // Assess
    expect(args.slice(0, 2)).toEqual(['cdk', 'synth']);
    expect(args[args.indexOf('--output') + 1]).toBe('private.out');
    for (const a of args) expect(a).not.toMatch(/^(-c|--context)$/);
  });

  it('points the SDK at LocalStack with test credentials and drops real profile credentials', () => {
    // Act
    const env = localstackEnv(defaultOptions([], {}), {
      AWS_PROFILE: 'prod',
      AWS_SESSION_TOKEN: 'real',
      PATH: '/bin',
    });
    // Assess
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      PATH: '/bin',
    });
    expect(env.AWS_PROFILE).toBeUndefined();
    expect(env.AWS_SESSION_TOKEN).toBeUndefined();
  });
});

// ---- health -----------------------------------------------------------------------------------------

describe('LocalStack health check', () => {
  let server: Server;
  let endpoint: string;
  let body: Health = healthFactory();

  beforeAll(async () => {
    // Prepare: a stand-in for LocalStack's health route on a free port.
    server = createServer((req, res) => {
      if (req.url !== '/_localstack/health') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('accepts a LocalStack that runs every service the stack needs', async () => {
    // Prepare
    body = healthFactory();
    // Act
    const h = await checkHealth(endpoint);
    // Assess
    expect(h.version).toBe('4.14.0');
    expect(versionWarning(h)).toBeUndefined();
  });

  it('names each missing or disabled service', async () => {
    // Prepare
    const services = { ...healthFactory().services } as Record<string, string>;
    delete services.stepfunctions;
    services.lambda = 'disabled';
    body = healthFactory({ services });
    // Act + Assess
    expect(unavailableServices(body)).toEqual(['lambda=disabled', 'stepfunctions=missing']);
    await expect(checkHealth(endpoint)).rejects.toThrow(
      /does not offer lambda=disabled, stepfunctions=missing/
    );
  });

  it('says how to start LocalStack when nothing answers', async () => {
    // Prepare: a port that was free a moment ago.
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((ok) => probe.close(() => ok()));
    // Act
    const result = checkHealth(`http://127.0.0.1:${port}`);
    // Assess
    await expect(result).rejects.toBeInstanceOf(DeployError);
    await expect(result).rejects.toThrow(/npm run localstack:host -- --background/);
  });

  it('warns about a LocalStack release other than the tested one', () => {
    // Act + Assess
    expect(versionWarning(healthFactory({ version: '2026.3.0' }))).toBe(
      'tested with LocalStack 4.14.0, this is 2026.3.0'
    );
    expect(versionWarning(healthFactory({ version: '4.14.0.dev12' }))).toBeUndefined();
  });
});

// ---- assembly -------------------------------------------------------------------------------------

describe('the deployed assembly', () => {
  it('rejects an assembly written with bundling skipped (cdk ls): its assets point at raw sources', () => {
    // Prepare: the shape `cdk ls --output x` writes (paths shortened).
    const manifest = {
      files: {
        layer: {
          displayName: 'Ffmpeg/Layer/Code',
          source: { path: '/repo/node_modules/@ffmpeg-installer/linux-x64' },
        },
        fn: { displayName: 'Probe/Function/Code', source: { path: '/repo' } },
        up: { displayName: 'Up', source: { path: '../elsewhere' } },
        tpl: {
          displayName: 'VideoPipeline Template',
          source: { path: 'VideoPipeline.template.json' },
        },
        ok: { displayName: 'Staged', source: { path: 'asset.abc' } },
      },
    };
    // Act
    const bad = unstagedAssets(manifest, '/repo/cdk.out');
    // Assess
    expect(bad).toEqual([
      'Ffmpeg/Layer/Code -> /repo/node_modules/@ffmpeg-installer/linux-x64',
      'Probe/Function/Code -> /repo',
      'Up -> ../elsewhere',
    ]);
  });

  it('refuses to deploy such an assembly, and one without the stack asset manifest', () => {
    // Prepare
    const skipped = tempDir('skipped-');
    writeFileSync(
      join(skipped, `${STACK_NAME}.assets.json`),
      JSON.stringify({ files: { fn: { displayName: 'Fn/Code', source: { path: '/repo' } } } })
    );
    const empty = tempDir('empty-');
    // Act + Assess
    expect(() => assertBundled(skipped)).toThrow(
      /synthesized with bundling skipped[\s\S]*Fn\/Code/
    );
    expect(() => assertBundled(empty)).toThrow(/VideoPipeline\.assets\.json is missing/);
  });

  it('accepts an assembly cdk synth wrote', () => {
    // Prepare
    const dir = assemblyFactory();
    // Act + Assess
    expect(() => assertBundled(dir)).not.toThrow();
  });
});

describe('the assembly cannot change under the deploy (toolkit-lib reader lock)', () => {
  const readerLocks = (dir: string) =>
    readdirSync(dir).filter((f) => /^read\.\d+\.\d+\.lock$/.test(f));

  it('holds a CDK CLI reader lock from opening until dispose', async () => {
    // Prepare
    const dir = assemblyFactory();
    const toolkit = new Toolkit({ ioHost: new CollectingIoHost() });
    // Act
    const assembly = await openAssembly(toolkit, dir);
    const whileOpen = readerLocks(dir);
    await assembly.dispose();
    // Assess: the CLI's RWLock protocol, read.<pid>.<n>.lock with the pid inside, which makes a
    // concurrent `cdk synth` into the directory refuse.
    expect(whileOpen).toHaveLength(1);
    expect(whileOpen[0]).toMatch(new RegExp(`^read\\.${process.pid}\\.\\d+\\.lock$`));
    expect(readerLocks(dir)).toEqual([]);
    expect(assembly.cloudAssembly.directory).toBe(dir);
  });

  it('refuses to open while another live CLI is synthesizing into the directory', async () => {
    // Prepare: a live writer (the parent process) holds synth.lock.
    const dir = assemblyFactory();
    writeFileSync(join(dir, 'synth.lock'), String(process.ppid));
    const toolkit = new Toolkit({ ioHost: new CollectingIoHost() });
    // Act
    const result = openAssembly(toolkit, dir);
    // Assess
    await expect(result).rejects.toBeInstanceOf(DeployError);
    await expect(result).rejects.toThrow(
      new RegExp(`PID=${process.ppid}[\\s\\S]*LOCALSTACK_ASSEMBLY_DIR`)
    );
    expect(readerLocks(dir)).toEqual([]);
  });

  it('says to synthesize first when the directory is not an assembly', async () => {
    // Prepare
    const dir = tempDir('not-asm-');
    // Act + Assess
    await expect(
      openAssembly(new Toolkit({ ioHost: new CollectingIoHost() }), dir)
    ).rejects.toThrow(/has no manifest\.json: synthesize first/);
    expect(existsSync(join(dir, 'synth.lock'))).toBe(false);
  });
});

// ---- io host ----------------------------------------------------------------------------------------

describe('the deploy IoHost', () => {
  it('confirms the deploy without printing its diff, as --require-approval never', async () => {
    // Prepare
    const inner = new CollectingIoHost();
    const host = new DeployIoHost(inner);
    // Act
    const answer = await host.requestResponse(requestFactory('CDK_TOOLKIT_I5060', false));
    // Assess
    expect(answer).toBe(true);
    expect(inner.requests).toEqual([]);
    expect(inner.messages).toEqual([]);
  });

  it('passes every other request and message to the library host', async () => {
    // Prepare
    const inner = new CollectingIoHost();
    const host = new DeployIoHost(inner);
    const rollback = requestFactory('CDK_TOOLKIT_I5050', true);
    // Act
    const answer = await host.requestResponse(rollback);
    await host.notify(rollback);
    // Assess
    expect(answer).toBe(true);
    expect(inner.requests).toEqual([rollback]);
    expect(inner.messages).toEqual([rollback]);
  });
});
