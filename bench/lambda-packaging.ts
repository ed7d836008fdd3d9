import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { FunctionSpec, Topology } from 'local-aws';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalResource, resolveValue } from 'local-aws';
import type { PhaseBar } from './progress';
import { median, round } from './stats';

/** Size and cold init of one function's bundle. */
export interface PackagingResult {
  readonly functionId: string;
  readonly bundleBytes: number;
  readonly bundleKiB: number;
  readonly sourceMapBytes: number;
  /** Median time of `await import(bundle)` in a fresh Node process, with the stack's NODE_OPTIONS. */
  readonly coldInitMs: number;
  readonly coldInitRunsMs: ReadonlyArray<number>;
  /** Median CPU time (user + system) of the import: barely moved by other load on the machine, unlike wall time. */
  readonly coldInitCpuMs: number;
  /** The same without `--enable-source-maps`, to show what loading the source map costs. */
  readonly coldInitWithoutSourceMapsMs: number;
  /** Median time from process start to the handler being loaded (includes Node's own start-up). */
  readonly processToHandlerMs: number;
  /** Bytes of the minified bundle by package, from the bundle's own source map; largest first. */
  readonly contributors: ReadonlyArray<{
    readonly name: string;
    readonly bytes: number;
    readonly share: number;
  }>;
}

/** Runs per function and variant. */
export interface PackagingOptions {
  readonly runs: number;
}

interface CfnTemplate {
  readonly Resources?: Record<
    string,
    { readonly Type: string; readonly Properties?: Record<string, unknown> }
  >;
}

const IMPORT_SCRIPT = `
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(process.argv[1]);
const t1 = performance.now();
const cpu = process.cpuUsage(cpu0);
if (typeof (mod[process.argv[2]] ?? mod.default?.[process.argv[2]]) !== 'function') {
  process.stderr.write('the bundle does not export ' + process.argv[2]);
  process.exit(2);
}
process.stdout.write(JSON.stringify({ importMs: t1 - t0, cpuMs: (cpu.user + cpu.system) / 1000, sinceStartMs: t1 }));
process.exit(0);
`;

/** Total child processes {@link measurePackaging} starts, for the progress bar. */
export function packagingWork(topology: Topology, options: PackagingOptions): number {
  return topology.functions.length * options.runs * 2;
}

/**
 * Measures each function's synthesized bundle: its size, and its cold init:
 * the bundle imported in a fresh Node process (nothing cached, as in a new
 * Lambda execution environment) with the environment the stack gives it, the
 * resource names and URLs set to dummy values (module init creates clients but
 * makes no call). Runs alternate between the two variants so drift hits both.
 */
export async function measurePackaging(
  topology: Topology,
  template: CfnTemplate,
  options: PackagingOptions,
  bar: PhaseBar,
): Promise<PackagingResult[]> {
  const resources = dummyResources(template);
  const results: PackagingResult[] = [];
  for (const fn of topology.functions) {
    const environment = lambdaEnvironment(fn, resources);
    const { NODE_OPTIONS: _nodeOptions, ...withoutSourceMaps } = environment;
    const deployed: ImportTiming[] = [];
    const plain: ImportTiming[] = [];
    for (let run = 0; run < options.runs; run++) {
      deployed.push(await importInFreshProcess(fn, environment));
      bar.increment();
      plain.push(await importInFreshProcess(fn, withoutSourceMaps));
      bar.increment();
    }
    const mapPath = `${fn.modulePath}.map`;
    const bundleBytes = statSync(fn.modulePath).size;
    results.push({
      functionId: fn.logicalId,
      bundleBytes,
      bundleKiB: round(bundleBytes / 1024, 1),
      sourceMapBytes: existsSync(mapPath) ? statSync(mapPath).size : 0,
      coldInitMs: round(median(deployed.map((r) => r.importMs)), 0),
      coldInitRunsMs: deployed.map((r) => round(r.importMs, 0)),
      coldInitCpuMs: round(median(deployed.map((r) => r.cpuMs)), 0),
      coldInitWithoutSourceMapsMs: round(median(plain.map((r) => r.importMs)), 0),
      processToHandlerMs: round(median(deployed.map((r) => r.sinceStartMs)), 0),
      contributors: existsSync(mapPath) ? bytesByPackage(fn.modulePath, mapPath) : [],
    });
  }
  return results;
}

/** What Lambda sets in every Node.js execution environment, with dummy credentials. */
function lambdaEnvironment(
  fn: FunctionSpec,
  resources: ReadonlyMap<string, LocalResource>,
): Record<string, string> {
  const environment: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK',
    AWS_SECRET_ACCESS_KEY: 'benchmark',
    AWS_SESSION_TOKEN: 'benchmark',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.logicalId}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'benchmark',
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    _HANDLER: `index.${fn.exportName}`,
  };
  for (const [name, value] of Object.entries(fn.environment)) {
    environment[name] = resolveValue(value, resources, `${fn.logicalId}.Environment.${name}`);
  }
  return environment;
}

/** Every resource of the template with a plausible deployed name, URL and ARN. */
function dummyResources(template: CfnTemplate): Map<string, LocalResource> {
  const resources = new Map<string, LocalResource>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const fifo = resource.Properties?.FifoQueue === true || resource.Properties?.FifoQueue === 'true';
    const name = `outbox-${logicalId}${fifo ? '.fifo' : ''}`;
    let ref = name;
    let arn = `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
    if (resource.Type === 'AWS::SQS::Queue') {
      ref = `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/${name}`;
      arn = `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
    } else if (resource.Type === 'AWS::DynamoDB::Table') {
      arn = `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${name}`;
    } else if (resource.Type === 'AWS::Events::EventBus') {
      arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${name}`;
    }
    resources.set(logicalId, { ref, attributes: { Arn: arn, QueueUrl: ref, QueueName: name, Name: name } });
  }
  return resources;
}

interface ImportTiming {
  readonly importMs: number;
  readonly cpuMs: number;
  readonly sinceStartMs: number;
}

function importInFreshProcess(fn: FunctionSpec, environment: Record<string, string>): Promise<ImportTiming> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', IMPORT_SCRIPT, pathToFileURL(fn.modulePath).href, fn.exportName],
      { env: environment, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(stdout));
      } catch (error) {
        reject(
          new Error(
            `loading ${fn.logicalId}'s bundle failed (${(error as Error).message}): ${stderr.trim().slice(-2000)}`,
          ),
        );
      }
    });
  });
}

/**
 * Attributes every byte of a minified bundle to the source file its source-map
 * segment points at, and sums by npm package (`functions/` and `local/` count
 * as the project). Bytes no segment covers (banner, esbuild's helpers) are
 * `(unmapped)`.
 */
export function bytesByPackage(
  bundlePath: string,
  mapPath: string,
): Array<{ name: string; bytes: number; share: number }> {
  const code = readFileSync(bundlePath, 'utf8');
  const map = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; mappings: string };
  const lines = code.split('\n');
  const totals = new Map<string, number>();
  const add = (name: string, bytes: number) => totals.set(name, (totals.get(name) ?? 0) + bytes);
  let sourceIndex = 0;
  map.mappings.split(';').forEach((lineMappings, lineNumber) => {
    const line = lines[lineNumber] ?? '';
    let column = 0;
    let previousColumn = 0;
    let previousSource: number | undefined;
    for (const segment of lineMappings.split(',')) {
      if (segment === '') continue;
      const fields = decodeVlq(segment);
      column += fields[0] ?? 0;
      if (fields.length >= 4) sourceIndex += fields[1] ?? 0;
      const bytes = Buffer.byteLength(line.slice(previousColumn, column));
      add(previousSource === undefined ? '(unmapped)' : packageOf(map.sources[previousSource]), bytes);
      previousColumn = column;
      previousSource = fields.length >= 4 ? sourceIndex : undefined;
    }
    const rest = Buffer.byteLength(line.slice(previousColumn)) + 1;
    add(previousSource === undefined ? '(unmapped)' : packageOf(map.sources[previousSource]), rest);
  });
  const total = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals]
    .map(([name, bytes]) => ({ name, bytes, share: round(bytes / total, 3) }))
    .sort((a, b) => b.bytes - a.bytes);
}

function packageOf(source: string | undefined): string {
  if (source === undefined) return '(unmapped)';
  const at = source.lastIndexOf('node_modules/');
  if (at < 0) return 'project code';
  const [scope, name] = source.slice(at + 'node_modules/'.length).split('/');
  return scope?.startsWith('@') ? `${scope}/${name}` : (scope ?? 'project code');
}

const VLQ_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = VLQ_CHARS.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}
