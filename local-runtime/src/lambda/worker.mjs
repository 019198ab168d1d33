// One Lambda execution environment: loads the function bundle once, then serves
// one invocation at a time over IPC. Plain .mjs so it starts without a TS loader.
import { enableCompileCache, flushCompileCache, registerHooks } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

const [codeDir, handlerSpec, sdkFallbackDir, compileCacheDir] = process.argv.slice(2);

// Before the bundle loads: its code and the SDK's compile from the cache (runner.ts says why).
// Not through NODE_COMPILE_CACHE, which the function's code would see in its environment.
if (compileCacheDir) enableCompileCache(compileCacheDir);

// The Lambda runtime ships @aws-sdk/*; bundles built with CDK defaults keep it external.
// Resolve it from the project (like the runtime's /var/runtime/node_modules) when the
// cloud assembly lives outside the project tree.
const fallbackParent = pathToFileURL(path.join(sdkFallbackDir, 'noop.js')).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (/^@aws-sdk\/|^@smithy\//.test(specifier)) {
        return nextResolve(specifier, { ...context, parentURL: fallbackParent });
      }
      throw err;
    }
  },
});

let currentRequestId = 'INIT';
// Mirror the Lambda Node runtime's text log format so logs look the same as in CloudWatch.
for (const [method, level] of [
  ['log', 'INFO'],
  ['info', 'INFO'],
  ['warn', 'WARN'],
  ['error', 'ERROR'],
  ['debug', 'DEBUG'],
  ['trace', 'TRACE'],
]) {
  const stream = level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout;
  console[method] = (...args) => {
    stream.write(
      `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${format(...args)}\n`
    );
  };
}

function toLambdaError(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name && err.name !== 'Error' ? err.name : err.constructor?.name || 'Error',
      errorMessage: err.message,
      trace: String(err.stack ?? '').split('\n'),
    };
  }
  return { errorType: 'Error', errorMessage: String(err), trace: [] };
}

async function loadHandler() {
  const dot = handlerSpec.lastIndexOf('.');
  const moduleName = handlerSpec.slice(0, dot);
  const exportName = handlerSpec.slice(dot + 1);
  const { existsSync } = await import('node:fs');
  const file = ['.mjs', '.js', '.cjs']
    .map((ext) => path.join(codeDir, moduleName + ext))
    .find((f) => existsSync(f));
  if (!file) {
    throw Object.assign(new Error(`Cannot find module '${moduleName}'`), {
      name: 'Runtime.ImportModuleError',
    });
  }
  const mod = await import(pathToFileURL(file).href);
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${handlerSpec} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  return fn;
}

const handlerPromise = loadHandler();
handlerPromise.then(
  () => {
    process.send({ type: 'ready' });
    // Written now, not at exit: the runtime ends environments with a signal, and V8 writes
    // the cache only at a normal exit or when asked. Only entries compiled afresh are written.
    if (compileCacheDir) flushCompileCache();
  },
  (err) => process.send({ type: 'initError', error: toLambdaError(err) })
);

process.on('message', async (msg) => {
  if (msg.type !== 'invoke') return;
  currentRequestId = msg.requestId;
  // Lambda changes _X_AMZN_TRACE_ID with each invocation; loggers read it per line.
  if (msg.traceHeader) process.env._X_AMZN_TRACE_ID = msg.traceHeader;
  else delete process.env._X_AMZN_TRACE_ID;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: msg.invokedFunctionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: msg.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
  };
  let reply;
  try {
    const handler = await handlerPromise;
    const payload = await handler(msg.event, context);
    reply = {
      type: 'result',
      requestId: msg.requestId,
      ok: true,
      payload: payload === undefined ? null : payload,
    };
  } catch (err) {
    reply = { type: 'result', requestId: msg.requestId, ok: false, error: toLambdaError(err) };
  }
  try {
    process.send(reply);
  } catch (err) {
    process.send({
      type: 'result',
      requestId: msg.requestId,
      ok: false,
      error: toLambdaError(err),
    });
  }
});

// The runtime owns this process; if it goes away (crash, SIGKILL) do not linger.
process.on('disconnect', () => process.exit(0));
