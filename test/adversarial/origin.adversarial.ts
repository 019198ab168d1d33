import { readFileSync } from 'node:fs';
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoIdFor } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import {
  type AdversarialEnv,
  EVIL_ORIGIN,
  executionNames,
  listKeys,
  poll,
  type RawResponse,
  rawRequest,
  rebindingHost,
  startAdversarial,
} from './harness.js';

/**
 * Issue #17, "Strangers cannot steer it": a web page in the user's browser sends
 * cross-site "simple" requests (no preflight) and DNS-rebinding requests
 * (`Host: evil.example:<port>`) to the local runtime and the console. Each case
 * names the attack, asserts the exact refusal, and proves nothing was written or
 * started; where the proof could be vacuous, a control sends the very same request
 * without the offending header and shows it would have had an effect.
 */

const ALLOWED_ORIGIN = 'http://127.0.0.1:5173';
const RUNTIME_ORIGIN_REFUSAL =
  'local runtime: refused a cross-origin request from Origin "http://evil.example": web pages ' +
  'may not drive this server (AWS SDKs and CLIs send no Origin). Add the origin to ' +
  'LOCAL_ALLOWED_ORIGINS to allow it.';
const CONSOLE_ORIGIN_REFUSAL =
  'console: refused a cross-origin request from Origin "http://evil.example": web pages ' +
  'may not drive this server (AWS SDKs and CLIs send no Origin). Add the origin to ' +
  'CONSOLE_ALLOWED_ORIGINS to allow it.';
const hostRefusal = (service: string, base: string, variable: string) => {
  const port = new URL(base).port;
  return (
    `${service}: refused a request for Host "evil.example:${port}": this server answers only ` +
    `to 127.0.0.1:${port}, localhost:${port} or [::1]:${port} (a foreign Host is how DNS ` +
    `rebinding reaches loopback). Add a name to ${variable} to allow it.`
  );
};

/** The S3-style XML error a refused S3/SQS-query request gets. */
const xmlError = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(
    /"/g,
    '&#34;'
  )}</Message></Error>`;

const jsonOf = (res: RawResponse) => JSON.parse(res.body) as Record<string, unknown>;

let env: AdversarialEnv;
let endpoint: string;
let consoleUrl: string;
let starter: string;

beforeAll(async () => {
  // Prepare (shared): one runtime and its console; one origin on the runtime's allow-list.
  env = await startAdversarial('origin', {
    console: true,
    env: { LOCAL_ALLOWED_ORIGINS: ALLOWED_ORIGIN },
  });
  endpoint = env.runtime.endpoint;
  consoleUrl = env.console!.url;
  starter = env.runtime.model.functions.find((f) => f.logicalId.startsWith('StartWorkflow'))!.name;
});

afterAll(async () => {
  await env?.stop();
  cleanupMedia();
});

const depth = async (queueUrl: string) => {
  const res = await env.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    })
  );
  return (
    Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
};

const executionExists = async (name: string) => {
  const arn = `${env.out.StateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  try {
    await env.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist') return false;
    throw err;
  }
};

describe('the local runtime refuses a web page', () => {
  it('cross-site simple POST to invoke a Lambda: 403, no environment started', async () => {
    // Prepare: nothing has run yet, so no function has an environment.
    const before = env.runtime.lambda.pids();

    // Act: text/plain is a CORS-safelisted content type, so the browser sends this without a preflight.
    const res = await rawRequest(endpoint, `/2015-03-31/functions/${starter}/invocations`, {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'text/plain' },
      body: JSON.stringify({ Records: [] }),
    });

    // Assess
    expect(res.status).toBe(403);
    expect(jsonOf(res)).toEqual({ __type: 'AccessForbidden', message: RUNTIME_ORIGIN_REFUSAL });
    expect(env.runtime.lambda.pids()).toEqual(before);
  });

  it('cross-site simple POST to /_local/faults: 403, the fault rate stays 0 (control: without Origin it is set)', async () => {
    // Act
    const res = await rawRequest(endpoint, '/_local/faults', {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'text/plain' },
      body: '{"s3SlowDownRate":1}',
    });

    // Assess
    expect(res.status).toBe(403);
    expect(jsonOf(res)).toEqual({ __type: 'AccessForbidden', message: RUNTIME_ORIGIN_REFUSAL });
    expect(env.runtime.faults.s3SlowDownRate).toBe(0);

    // Control: the same request from a local process (no Origin) does change it.
    const control = await rawRequest(endpoint, '/_local/faults', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"s3SlowDownRate":0.5}',
    });
    expect(control.status).toBe(200);
    expect(env.runtime.faults.s3SlowDownRate).toBe(0.5);
    env.runtime.faults.s3SlowDownRate = 0;
  });

  it('DNS-rebinding POST to /_local/faults: 421, the fault rate stays 0', async () => {
    // Act
    const res = await rawRequest(endpoint, '/_local/faults', {
      method: 'POST',
      headers: { host: rebindingHost(endpoint), 'content-type': 'text/plain' },
      body: '{"s3SlowDownRate":1}',
    });

    // Assess
    expect(res.status).toBe(421);
    expect(jsonOf(res)).toEqual({
      __type: 'MisdirectedRequest',
      message: hostRefusal('local runtime', endpoint, 'LOCAL_ALLOWED_HOSTS'),
    });
    expect(env.runtime.faults.s3SlowDownRate).toBe(0);
  });

  it('cross-site simple POST to /_local/lambda/<fn>/kill: 403, nothing killed', async () => {
    // Act
    const res = await rawRequest(endpoint, `/_local/lambda/${starter}/kill`, {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'text/plain' },
    });

    // Assess: an unguarded endpoint answers 409 {killed: null} when nothing is busy; 403 means
    // the request never reached the admin handler.
    expect(res.status).toBe(403);
    expect(jsonOf(res)).toEqual({ __type: 'AccessForbidden', message: RUNTIME_ORIGIN_REFUSAL });
    expect(env.runtime.stats().killed).toBe(0);
  });

  it('DNS-rebinding reads of /_local/health and /_local/stats: 421, no outputs disclosed', async () => {
    for (const path of ['/_local/health', '/_local/stats', '/_local/metrics']) {
      // Act
      const res = await rawRequest(endpoint, path, { headers: { host: rebindingHost(endpoint) } });

      // Assess
      expect(res.status, path).toBe(421);
      expect(res.body).not.toContain(env.out.UploadBucketName);
      expect(jsonOf(res).__type).toBe('MisdirectedRequest');
    }
  });

  it('cross-site S3 PUT of a forged manifest: preflight 403, the PUT itself 403, nothing written (control: without Origin it lands)', async () => {
    // Prepare
    const key = 'outputs/forged-0000000000000000/manifest.json';
    const path = `/${env.out.OutputBucketName}/${key}`;
    const before = await listKeys(env.s3, env.out.OutputBucketName);

    // Act: a page's PUT is preflighted first; the PUT is also sent as if a browser had not asked.
    const preflight = await rawRequest(endpoint, path, {
      method: 'OPTIONS',
      headers: {
        origin: EVIL_ORIGIN,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      },
    });
    const put = await rawRequest(endpoint, path, {
      method: 'PUT',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'application/json' },
      body: '{"status":"COMPLETE"}',
    });

    // Assess
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(put.status).toBe(403);
    expect(put.body).toBe(xmlError('AccessForbidden', RUNTIME_ORIGIN_REFUSAL));
    expect(await listKeys(env.s3, env.out.OutputBucketName)).toEqual(before);

    // Control: the same unsigned PUT without Origin is stored, so the listing would have shown it.
    const control = await rawRequest(endpoint, path, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"status":"COMPLETE"}',
    });
    expect(control.status).toBe(200);
    expect(await listKeys(env.s3, env.out.OutputBucketName)).toEqual([...before, key].sort());
    await rawRequest(endpoint, path, { method: 'DELETE' });
  });

  it('cross-site S3 browser-form POST (multipart/form-data, no preflight) into the upload bucket: 403, nothing written', async () => {
    // Prepare
    const boundary = 'x0x0x0';
    const form =
      `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nuploads/evil.mp4\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="evil.mp4"\r\n` +
      `Content-Type: video/mp4\r\n\r\nnot a video\r\n--${boundary}--\r\n`;
    const executions = await executionNames(env);

    // Act
    const res = await rawRequest(endpoint, `/${env.out.UploadBucketName}`, {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: form,
    });

    // Assess
    expect(res.status).toBe(403);
    expect(res.body).toBe(xmlError('AccessForbidden', RUNTIME_ORIGIN_REFUSAL));
    expect(await listKeys(env.s3, env.out.UploadBucketName)).toEqual([]);
    expect(await executionNames(env)).toEqual(executions);
  });

  it('DNS-rebinding S3 PUT and bucket listing: 421, nothing written or listed', async () => {
    // Act
    const put = await rawRequest(endpoint, `/${env.out.UploadBucketName}/uploads/rebound.mp4`, {
      method: 'PUT',
      headers: { host: rebindingHost(endpoint) },
      body: 'not a video',
    });
    const list = await rawRequest(endpoint, `/${env.out.OutputBucketName}?list-type=2`, {
      headers: { host: rebindingHost(endpoint) },
    });

    // Assess
    expect(put.status).toBe(421);
    expect(put.body).toBe(
      xmlError('MisdirectedRequest', hostRefusal('local runtime', endpoint, 'LOCAL_ALLOWED_HOSTS'))
    );
    expect(list.status).toBe(421);
    expect(list.body).not.toContain('ListBucketResult');
    expect(await listKeys(env.s3, env.out.UploadBucketName)).toEqual([]);
  });

  it('cross-site SQS SendMessage: preflight 403, the request 403, the queue stays empty (control: without Origin it arrives)', async () => {
    // Prepare: a dead-letter queue nothing consumes, so a message would stay visible. SQS here
    // speaks only the JSON protocol, whose X-Amz-Target header makes a page ask first (preflight).
    const queueUrl = env.out.StartWorkflowDeadLetterQueueUrl;
    const body = JSON.stringify({ QueueUrl: queueUrl, MessageBody: '{"forged":true}' });
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AmazonSQS.SendMessage',
    };

    // Act
    const preflight = await rawRequest(endpoint, '/', {
      method: 'OPTIONS',
      headers: {
        origin: EVIL_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-amz-target',
      },
    });
    const res = await rawRequest(endpoint, '/', {
      method: 'POST',
      headers: { ...headers, origin: EVIL_ORIGIN },
      body,
    });

    // Assess
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.status).toBe(403);
    expect(jsonOf(res)).toEqual({ __type: 'AccessForbidden', message: RUNTIME_ORIGIN_REFUSAL });
    expect(await depth(queueUrl)).toBe(0);

    // Control
    const control = await rawRequest(endpoint, '/', { method: 'POST', headers, body });
    expect(control.status).toBe(200);
    expect(await depth(queueUrl)).toBe(1);
    await env.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  });

  it('cross-site SNS Publish of a forged FAILED notification (form POST): 403, no alert delivered (control: without Origin it is)', async () => {
    // Prepare: the alerts queue subscribes to FAILED/PARTIAL notifications; nothing consumes it.
    const form = new URLSearchParams({
      Action: 'Publish',
      TopicArn: env.out.ProcessedTopicArn,
      Message: '{"videoId":"forged","status":"FAILED"}',
      'MessageAttributes.entry.1.Name': 'status',
      'MessageAttributes.entry.1.Value.DataType': 'String',
      'MessageAttributes.entry.1.Value.StringValue': 'FAILED',
    }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };

    // Act
    const res = await rawRequest(endpoint, '/', {
      method: 'POST',
      headers: { ...headers, origin: EVIL_ORIGIN },
      body: form,
    });

    // Assess
    expect(res.status).toBe(403);
    expect(res.body).toBe(xmlError('AccessForbidden', RUNTIME_ORIGIN_REFUSAL));
    expect(await depth(env.out.AlertsQueueUrl)).toBe(0);

    // Control: delivery is asynchronous, so the control polls for it.
    const control = await rawRequest(endpoint, '/', { method: 'POST', headers, body: form });
    expect(control.status).toBe(200);
    await poll(
      'the control alert',
      async () => ((await depth(env.out.AlertsQueueUrl)) === 1 ? true : undefined),
      10_000
    );
    await env.sqs.send(new PurgeQueueCommand({ QueueUrl: env.out.AlertsQueueUrl }));
  });

  it('Step Functions StartExecution with a foreign Origin (403) or Host (421): no execution', async () => {
    // Prepare
    const body = JSON.stringify({
      stateMachineArn: env.out.StateMachineArn,
      name: 'forged-execution',
      input: '{}',
    });
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AWSStepFunctions.StartExecution',
    };

    // Act: a page would be preflighted (custom header); both the preflight and the request are refused.
    const preflight = await rawRequest(endpoint, '/', {
      method: 'OPTIONS',
      headers: {
        origin: EVIL_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-amz-target',
      },
    });
    const crossSite = await rawRequest(endpoint, '/', {
      method: 'POST',
      headers: { ...headers, origin: EVIL_ORIGIN },
      body,
    });
    const rebound = await rawRequest(endpoint, '/', {
      method: 'POST',
      headers: { ...headers, host: rebindingHost(endpoint) },
      body,
    });

    // Assess
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(crossSite.status).toBe(403);
    expect(jsonOf(crossSite)).toEqual({
      __type: 'AccessForbidden',
      message: RUNTIME_ORIGIN_REFUSAL,
    });
    expect(rebound.status).toBe(421);
    expect(jsonOf(rebound).__type).toBe('MisdirectedRequest');
    expect(await executionExists('forged-execution')).toBe(false);
  });

  it('cross-site simple POST to /_local/esm/<starter> {"enabled":false}: 403, and uploads still start workflows (the AWS SDK, no Origin, works)', async () => {
    // Act
    const res = await rawRequest(endpoint, `/_local/esm/${starter}`, {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'text/plain' },
      body: '{"enabled":false}',
    });
    expect(res.status).toBe(403);
    expect(jsonOf(res)).toEqual({ __type: 'AccessForbidden', message: RUNTIME_ORIGIN_REFUSAL });

    // Assess: the starter's poller still runs; an SDK upload (no Origin) starts its workflow.
    const clip = await makeClip({ seconds: 1, width: 160, height: 90 });
    const key = 'uploads/sdk-still-works.mp4';
    const put = await env.s3.send(
      new PutObjectCommand({ Bucket: env.out.UploadBucketName, Key: key, Body: readFileSync(clip) })
    );
    const videoId = videoIdFor({
      bucket: env.out.UploadBucketName,
      key,
      versionId: put.VersionId,
      etag: put.ETag?.replaceAll('"', ''),
    });
    await poll(
      `execution ${videoId}`,
      async () => ((await executionExists(videoId)) ? true : undefined),
      60_000
    );
    const arn = `${env.out.StateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;
    await env.runtime.stepFunctions.waitForExecution(arn);
  });

  it("the emulator's own random port refuses a web page (any Origin, or a foreign Host): 403, nothing written", async () => {
    // Prepare: the port a page could find by scanning loopback, around the front door.
    const direct = env.runtime.emulator.url;
    const bucket = env.out.UploadBucketName;
    const before = await listKeys(env.s3, bucket);

    // Act
    const crossSite = await rawRequest(direct, `/${bucket}/uploads/from-a-page.mp4`, {
      method: 'PUT',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'text/plain' },
      body: 'forged',
    });
    const rebound = await rawRequest(direct, `/${bucket}/uploads/rebound.mp4`, {
      method: 'PUT',
      headers: { host: rebindingHost(direct), 'content-type': 'text/plain' },
      body: 'forged',
    });

    // Assess
    expect([crossSite.status, rebound.status]).toEqual([403, 403]);
    expect(await listKeys(env.s3, bucket)).toEqual(before);
  });

  it('serves presigned URLs and SDK clients on localhost:<port> as before (no Origin)', async () => {
    // Prepare
    await env.s3.send(
      new PutObjectCommand({
        Bucket: env.out.OutputBucketName,
        Key: 'probe/presigned.txt',
        Body: 'hello',
      })
    );
    const url = await getSignedUrl(
      env.s3,
      new GetObjectCommand({ Bucket: env.out.OutputBucketName, Key: 'probe/presigned.txt' }),
      { expiresIn: 60 }
    );
    const viaLocalhost = new S3Client({
      region: env.runtime.region,
      endpoint: `http://localhost:${env.runtime.port}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      forcePathStyle: true,
    });

    // Act
    const presigned = await fetch(url);
    const head = await viaLocalhost.send(
      new HeadBucketCommand({ Bucket: env.out.UploadBucketName })
    );
    viaLocalhost.destroy();

    // Assess
    expect(presigned.status).toBe(200);
    expect(await presigned.text()).toBe('hello');
    expect(head.$metadata.httpStatusCode).toBe(200);
  });

  it('lets an origin on LOCAL_ALLOWED_ORIGINS through, with CORS headers for it only', async () => {
    // Act
    const preflight = await rawRequest(endpoint, '/_local/health', {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET' },
    });
    const health = await rawRequest(endpoint, '/_local/health', {
      headers: { origin: ALLOWED_ORIGIN },
    });

    // Assess
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(preflight.headers['access-control-allow-methods']).toBe('GET');
    expect(health.status).toBe(200);
    expect(health.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(jsonOf(health).status).toBe('running');
  });
});

describe('the console refuses a web page', () => {
  const uploadPath = '/api/upload?name=evil.mp4';

  const assertNoUpload = async (executionsBefore: string[]) => {
    expect(await listKeys(env.s3, env.out.UploadBucketName, 'uploads/evil')).toEqual([]);
    expect(await executionNames(env)).toEqual(executionsBefore);
  };

  it('cross-site simple POST /api/upload (the attack of issue #17): 403, nothing uploaded or started', async () => {
    // Prepare
    const executions = await executionNames(env);

    // Act
    const res = await rawRequest(consoleUrl, uploadPath, {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'text/plain' },
      body: 'not a video',
    });

    // Assess
    expect(res.status).toBe(403);
    expect(jsonOf(res)).toEqual({ error: CONSOLE_ORIGIN_REFUSAL });
    await assertNoUpload(executions);
  });

  it('preflight from a foreign origin for an upload with the token header: 403, no CORS grant', async () => {
    // Act
    const res = await rawRequest(consoleUrl, uploadPath, {
      method: 'OPTIONS',
      headers: {
        origin: EVIL_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-console-token',
      },
    });

    // Assess
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(jsonOf(res)).toEqual({ error: CONSOLE_ORIGIN_REFUSAL });
  });

  it('DNS-rebinding reads of the page, /api/target and /api/videos: 421, no bucket names, no token', async () => {
    for (const path of ['/', '/index.html', '/api/target', '/api/videos', '/api/queues']) {
      // Act
      const res = await rawRequest(consoleUrl, path, {
        headers: { host: rebindingHost(consoleUrl) },
      });

      // Assess
      expect(res.status, path).toBe(421);
      expect(jsonOf(res), path).toEqual({
        error: hostRefusal('console', consoleUrl, 'CONSOLE_ALLOWED_HOSTS'),
      });
      expect(res.body).not.toContain(env.out.UploadBucketName);
      expect(res.body).not.toContain(env.console!.token);
    }
  });

  it('DNS-rebinding POST /api/upload: 421, nothing uploaded or started', async () => {
    // Prepare
    const executions = await executionNames(env);

    // Act
    const res = await rawRequest(consoleUrl, uploadPath, {
      method: 'POST',
      headers: { host: rebindingHost(consoleUrl), 'content-type': 'text/plain' },
      body: 'not a video',
    });

    // Assess
    expect(res.status).toBe(421);
    await assertNoUpload(executions);
  });

  it("another site's <img> of an artifact or <script> of /api/videos (no Origin, Sec-Fetch-Site: cross-site): 403", async () => {
    for (const path of [
      '/api/artifact?key=outputs/x-0000000000000000/thumbnails/thumb-01.jpg',
      '/api/videos',
    ]) {
      // Act: what Chromium sends for a cross-site subresource.
      const res = await rawRequest(consoleUrl, path, {
        headers: {
          'sec-fetch-site': 'cross-site',
          'sec-fetch-mode': 'no-cors',
          'sec-fetch-dest': 'image',
        },
      });

      // Assess
      expect(res.status, path).toBe(403);
      expect(jsonOf(res).error, path).toBe(
        `console: refused ${new URL(path, consoleUrl).pathname} to another site's page (Sec-Fetch-Site: cross-site): open the console itself instead`
      );
    }
  });

  it('cross-origin read of /api/target: 403', async () => {
    const res = await rawRequest(consoleUrl, '/api/target', { headers: { origin: EVIL_ORIGIN } });
    expect(res.status).toBe(403);
    expect(res.body).not.toContain(env.out.UploadBucketName);
  });

  it.each([
    ['no token and no Origin (a client that strips Origin)', {}],
    ["the console's own Origin but no token", { origin: 'OWN' }],
    ['a wrong token', { origin: 'OWN', 'x-console-token': 'guessed' }],
  ])(
    'POST /api/upload with %s: 403 asking for the token, nothing uploaded',
    async (_what, extra) => {
      // Prepare
      const executions = await executionNames(env);
      const headers: Record<string, string> = { 'content-type': 'video/mp4' };
      for (const [k, v] of Object.entries(extra)) headers[k] = v === 'OWN' ? consoleUrl : v;

      // Act
      const res = await rawRequest(consoleUrl, uploadPath, { method: 'POST', headers, body: 'x' });

      // Assess
      expect(res.status).toBe(403);
      expect(jsonOf(res)).toEqual({
        error:
          "console: POST /api/upload needs the x-console-token header this console's page " +
          'carries (reload the page if the console was restarted)',
      });
      await assertNoUpload(executions);
    }
  );

  it('its own page carries the token, and an upload with it and its own Origin starts a workflow', async () => {
    // Prepare: the page, as the browser loads it.
    const page = await rawRequest(consoleUrl, '/');
    const token = /<meta name="console-token" content="([^"]+)">/.exec(page.body)?.[1];
    const clip = await makeClip({ seconds: 1, width: 160, height: 90 });

    // Act: what console/web/app.ts sends.
    const res = await rawRequest(consoleUrl, '/api/upload?name=console-own-page.mp4', {
      method: 'POST',
      headers: {
        origin: consoleUrl,
        'content-type': 'video/mp4',
        'x-console-token': token ?? '',
      },
      body: readFileSync(clip),
    });

    // Assess
    expect(page.headers['cache-control']).toBe('no-store');
    expect(token).toBe(env.console!.token);
    expect(res.status).toBe(200);
    const { videoId, key } = jsonOf(res) as { videoId: string; key: string };
    expect(key).toBe('uploads/console-own-page.mp4');
    expect(await listKeys(env.s3, env.out.UploadBucketName, key)).toEqual([key]);
    const head = await env.s3.send(
      new HeadObjectCommand({ Bucket: env.out.UploadBucketName, Key: key })
    );
    expect(head.ContentType).toBe('video/mp4');
    await poll(
      `execution ${videoId}`,
      async () => ((await executionExists(videoId)) ? true : undefined),
      60_000
    );
    const arn = `${env.out.StateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;
    await env.runtime.stepFunctions.waitForExecution(arn);
  });
});
