/**
 * Step 4 of start-up: every function of the template from its bundled asset,
 * each execution environment a worker thread with the environment the stack
 * gives it, resolved to local names and endpoints, and the credentials of its
 * execution role (see `iam.ts`).
 */
import { join } from 'node:path';
import { LocalFunction } from '../lambda/local-function';
import { LOCAL_REGION, resolveValue } from '../template/intrinsics';
import type { FunctionSpec, Topology } from '../template/topology';
import type { RuntimeIam } from './iam';
import type { LocalAwsOptions } from './local-aws';
import type { StopList } from './stop-list';

/** Loads every function and waits for its cold starts; each one is added to `stops` as it is created. */
export async function loadFunctions(
  topology: Topology,
  iam: RuntimeIam,
  options: LocalAwsOptions,
  stops: StopList,
): Promise<Map<string, LocalFunction>> {
  const functions = new Map<string, LocalFunction>();
  for (const spec of topology.functions) {
    const fn = new LocalFunction({
      name: spec.logicalId,
      modulePath: spec.modulePath,
      exportName: spec.exportName,
      environment: functionEnvironment(spec, iam, options),
      timeoutSeconds: options.functionTimeoutSeconds ?? spec.timeoutSeconds,
      memorySize: spec.memorySize,
      logFile: options.logDir === undefined ? undefined : join(options.logDir, `${spec.logicalId}.log`),
      concurrency: options.functionConcurrency ?? 2,
    });
    functions.set(spec.logicalId, fn);
    stops.add(() => fn.stop());
  }
  await Promise.all([...functions.values()].map((fn) => fn.ready()));
  applyCrashFaults(topology, functions, options);
  return functions;
}

/**
 * The Lambda-provided variables (with the execution role's keys and the endpoints, from `iam`),
 * the template's (resolved; queue URLs lead through the SQS proxy), then the caller's overrides.
 */
function functionEnvironment(
  spec: FunctionSpec,
  iam: RuntimeIam,
  options: LocalAwsOptions,
): Record<string, string> {
  const environment: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    ...iam.functionEnvironment(spec.logicalId),
    AWS_LAMBDA_FUNCTION_NAME: spec.logicalId,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    POWERTOOLS_TRACE_ENABLED: 'false',
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  };
  for (const [name, value] of Object.entries(spec.environment)) {
    environment[name] = resolveValue(value, iam.functionResources, `${spec.logicalId}.Environment.${name}`);
  }
  for (const [match, overrides] of Object.entries(options.environmentOverrides ?? {})) {
    if (spec.logicalId.includes(match)) Object.assign(environment, overrides);
  }
  return environment;
}

/** Crash faults go to the functions that event source mappings invoke, each with its own seed. */
function applyCrashFaults(
  topology: Topology,
  functions: ReadonlyMap<string, LocalFunction>,
  options: LocalAwsOptions,
) {
  const crashRate = options.faults?.functions?.crashRate ?? 0;
  if (crashRate <= 0) return;
  const seed = options.faults?.seed ?? 1;
  const invoked = new Set(topology.mappings.map((m) => m.functionLogicalId));
  let offset = 10;
  for (const [id, fn] of functions) if (invoked.has(id)) fn.setFaults({ crashRate, seed: seed + offset++ });
}
