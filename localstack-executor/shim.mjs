// Node side of the 'process' LocalStack Lambda executor (dev tooling, not product code).
// Started by localstack-executor/python/localstack_process_executor/executor.py with cwd = unzipped code.
// Speaks LocalStack's runtime-init protocol: POST <endpoint>/status/<id>/ready|error,
// serves POST /invoke, answers with POST <endpoint>/invocations/<requestId>/logs + response|error.
// Timeouts are enforced by the Python executor (it kills this process group).
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

const env = process.env;
const ENDPOINT = env.LOCALSTACK_RUNTIME_ENDPOINT;
const RUNTIME_ID = env.LOCALSTACK_RUNTIME_ID;
const TASK_ROOT = env.LAMBDA_TASK_ROOT || process.cwd();
const PARENT_PID = process.ppid;

async function post(path, body) {
  const res = await fetch(`${ENDPOINT}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

function errorPayload(err, fallbackType = 'Error') {
  const e = err instanceof Error ? err : new Error(typeof err === 'string' ? err : JSON.stringify(err));
  const shimUrl = import.meta.url;
  const frames = typeof e.stack === 'string' ? e.stack.split('\n').slice(1).map((l) => l.trim()) : [];
  const cut = frames.findIndex((l) => l.includes(shimUrl)); // drop the shim's frames and everything below
  const stack = cut >= 0 ? frames.slice(0, cut) : frames;
  const type = e.name && e.name !== 'Error' ? e.name : (e.constructor?.name ?? fallbackType);
  return { errorType: type || fallbackType, errorMessage: e.message, stackTrace: stack, trace: stack };
}

// --- per-invocation log capture (what LocalStack stores as CloudWatch logs) -------------------
let captured = null;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    if (captured) captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return write(chunk, ...rest);
  };
}
let currentRequestId;
for (const [method, level] of [['log', 'INFO'], ['info', 'INFO'], ['warn', 'WARN'], ['error', 'ERROR'], ['debug', 'DEBUG'], ['trace', 'TRACE']]) {
  const target = level === 'WARN' || level === 'ERROR' ? process.stderr : process.stdout;
  console[method] = (...args) => {
    const text = format(...args).replace(/\n/g, '\r'); // Lambda keeps one record per call
    target.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${text}\n`);
  };
}

// --- handler loading ---------------------------------------------------------------------------
async function loadHandler() {
  const spec = env._HANDLER ?? '';
  const slash = spec.lastIndexOf('/');
  const dot = spec.indexOf('.', slash + 1);
  if (dot < 0) throw Object.assign(new Error(`Bad handler ${spec}`), { name: 'Runtime.MalformedHandlerName' });
  const modulePath = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1).split('.');
  const file = ['.mjs', '.js', '.cjs'].map((ext) => resolve(TASK_ROOT, modulePath + ext)).find(existsSync);
  if (!file) {
    throw Object.assign(new Error(`Cannot find module '${modulePath}'`), { name: 'Runtime.ImportModuleError' });
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    throw Object.assign(new Error(`${err?.name ?? 'Error'}: ${err?.message ?? err}`), {
      name: 'Runtime.ImportModuleError',
      stack: err?.stack,
    });
  }
  let fn = exportPath.reduce((obj, key) => obj?.[key], mod);
  if (typeof fn !== 'function') fn = exportPath.reduce((obj, key) => obj?.[key], mod.default);
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${modulePath}.${exportPath.join('.')} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  return fn;
}

// --- invocation --------------------------------------------------------------------------------
let handler;
let busy = false;

function makeContext(invoke, deadline) {
  return {
    awsRequestId: invoke['invoke-id'],
    invokedFunctionArn: invoke['invoked-function-arn'],
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function callHandler(event, context) {
  return new Promise((resolvePromise, reject) => {
    const callback = (err, value) => (err ? reject(err) : resolvePromise(value));
    Object.assign(context, { done: callback, succeed: (v) => callback(null, v), fail: (e) => callback(e) });
    try {
      const out = handler(event, context, callback);
      if (out && typeof out.then === 'function') out.then(resolvePromise, reject);
      else if (handler.length < 3) resolvePromise(out);
    } catch (err) {
      reject(err);
    }
  });
}

async function runInvoke(invoke) {
  const requestId = invoke['invoke-id'];
  const timeoutMs = Number(env.AWS_LAMBDA_FUNCTION_TIMEOUT || 3) * 1000;
  const start = performance.now();
  currentRequestId = requestId;
  captured = [];
  env._X_AMZN_TRACE_ID = invoke['trace-id'] ?? '';
  process.stdout.write(`START RequestId: ${requestId} Version: ${env.AWS_LAMBDA_FUNCTION_VERSION}\n`);
  let kind = 'response';
  let body;
  try {
    const event = invoke.payload ? JSON.parse(invoke.payload) : {};
    const result = await callHandler(event, makeContext(invoke, Date.now() + timeoutMs));
    body = result === undefined ? 'null' : JSON.stringify(result);
  } catch (err) {
    kind = 'error';
    const payload = errorPayload(err);
    process.stderr.write(
      `${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(payload)}\n`,
    );
    body = JSON.stringify(payload);
  }
  const ms = performance.now() - start;
  const mem = Math.round(process.memoryUsage().rss / 1048576);
  process.stdout.write(`END RequestId: ${requestId}\n`);
  process.stdout.write(
    `REPORT RequestId: ${requestId}\tDuration: ${ms.toFixed(2)} ms\tBilled Duration: ${Math.ceil(ms)} ms\t` +
      `Memory Size: ${env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE} MB\tMax Memory Used: ${mem} MB\n`,
  );
  const logs = captured.join('');
  captured = null;
  currentRequestId = undefined;
  busy = false;
  await post(`/invocations/${requestId}/logs`, { logs });
  await post(`/invocations/${requestId}/${kind}`, body);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/invoke') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (busy) {
      res.writeHead(409).end('busy');
      return;
    }
    let invoke;
    try {
      invoke = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end('bad json');
      return;
    }
    busy = true;
    res.writeHead(202).end();
    runInvoke(invoke).catch((err) => {
      process.stderr.write(`shim: failed to report invocation ${invoke['invoke-id']}: ${err?.stack ?? err}\n`);
    });
  });
});

// Exit if LocalStack goes away (e.g. SIGKILL), so no orphaned node processes stay behind.
setInterval(() => {
  if (process.ppid !== PARENT_PID) process.exit(0);
}, 1000).unref();

try {
  handler = await loadHandler();
} catch (err) {
  const payload = errorPayload(err, 'Runtime.ImportModuleError');
  process.stderr.write(`${new Date().toISOString()}\tundefined\tERROR\tInit Error\t${JSON.stringify(payload)}\n`);
  await post(`/status/${RUNTIME_ID}/error`, payload).catch(() => {});
  process.exit(1);
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const status = await post(`/status/${RUNTIME_ID}/ready`, { port });
  if (status >= 300) {
    process.stderr.write(`shim: LocalStack refused ready (HTTP ${status})\n`);
    process.exit(1);
  }
});
