// Runs one Lambda function's bundled code in a worker thread, as a Lambda
// execution environment would: the module is loaded once (cold start), then
// invocations arrive as messages, one at a time. Plain JavaScript on purpose:
// it loads the esbuild bundle that `cdk synth` produced, with no TypeScript loader.
import { randomUUID } from 'node:crypto';
import dns from 'node:dns';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { modulePath, exportName, functionName, functionArn, memorySize, timeoutMs } = workerData;
// The stack sets NODE_OPTIONS=--enable-source-maps; a worker does not read NODE_OPTIONS, so apply it here.
if (process.env.NODE_OPTIONS?.includes('--enable-source-maps')) process.setSourceMapsEnabled(true);

// The SQS client sends each request to the host of its QueueUrl unless an endpoint is set in
// code; locally the endpoint comes from AWS_ENDPOINT_URL_SQS and queue URLs look like
// http://sqs.<region>.localhost:<port>/. Resolve *.localhost to loopback, as RFC 6761 says
// it should be (glibc does not), so the unmodified handler reaches the emulator.
const lookup = dns.lookup;
dns.lookup = function lookupLocalhost(hostname, options, callback) {
  return lookup.call(
    this,
    typeof hostname === 'string' && hostname.endsWith('.localhost') ? '127.0.0.1' : hostname,
    options,
    callback,
  );
};

const started = performance.now();
let handler;
try {
  const mod = await import(pathToFileURL(modulePath).href);
  handler = mod[exportName] ?? mod.default?.[exportName];
  if (typeof handler !== 'function')
    throw new Error(`${modulePath} does not export a function named ${exportName}`);
  parentPort.postMessage({ type: 'ready', initMs: performance.now() - started });
} catch (error) {
  parentPort.postMessage({ type: 'init-error', error: serialize(error) });
}

parentPort.on('message', async ({ id, event, traceId }) => {
  // Lambda sets the invocation's trace id in the environment; one invocation at a time runs here.
  if (typeof traceId === 'string') process.env._X_AMZN_TRACE_ID = traceId;
  else delete process.env._X_AMZN_TRACE_ID;
  const deadline = Date.now() + timeoutMs;
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(memorySize),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const result = await handler(event, context);
    parentPort.postMessage({ type: 'result', id, ok: true, result: result === undefined ? null : result });
  } catch (error) {
    parentPort.postMessage({ type: 'result', id, ok: false, error: serialize(error) });
  }
});

function serialize(error) {
  return { name: error?.name ?? 'Error', message: error?.message ?? String(error), stack: error?.stack };
}
