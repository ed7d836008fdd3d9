/**
 * Starts AWS's DynamoDB Local (the jar shipped inside `amplify-dynamodb-simulator`)
 * as a child JVM, for tests and the local runtime.
 *
 * Facts about the shipped jar (checked with `-help`, `-version` and by experiment):
 * - Version 1.25.1. It has no option to choose the bind address: Jetty listens on
 *   all interfaces (`*:<port>`). Clients are always given http://127.0.0.1:<port>;
 *   the listening socket itself cannot be narrowed without patching the jar.
 * - Startup to the first successful ListTables takes about 2–2.5 s on a 2-core machine
 *   (mostly JVM start); `DynamoDbLocal.startupMs` reports the measured value.
 * - Without `-sharedDb` each access key + region pair gets its own database, so two
 *   clients with different credentials would not see each other's tables. The local
 *   runtime creates clients in several places, hence `sharedDb` defaults to true.
 * - Streams: one open shard per table; ApproximateCreationDateTime is cut to the
 *   minute; awsRegion in records and ARNs is `ddblocal`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EngineStartError, JavaNotFoundError, PortInUseError } from './errors';
import { getFreePort, LOOPBACK_HOST } from './free-port';

/** Options of {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /**
   * Port to listen on.
   * @default a free port chosen by the OS (retried if another process takes it first)
   */
  readonly port?: number;
  /**
   * Keep all data in memory; it is gone when the process stops.
   * @default true
   */
  readonly inMemory?: boolean;
  /**
   * Directory of the database file when `inMemory` is false.
   * @default DynamoDB Local's own default, the current working directory
   */
  readonly dbPath?: string;
  /**
   * One database for all credentials and regions (`-sharedDb`).
   * @default true
   */
  readonly sharedDb?: boolean;
  /**
   * How long to wait for the first successful ListTables (about 2.5 s on an idle
   * 2-core machine, much more when other JVMs or test runs compete for the CPU).
   * @default 60000
   */
  readonly startTimeoutMs?: number;
  /**
   * Receives lifecycle messages and the JVM's output lines.
   * @default no logging
   */
  readonly log?: (message: string) => void;
}

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** http://127.0.0.1:<port>, for `new DynamoDBClient({ endpoint })` and the streams client. */
  readonly endpoint: string;
  readonly port: number;
  /** Version DynamoDB Local printed at startup, e.g. `1.25.1`. */
  readonly version: string | undefined;
  /** Milliseconds from spawn to the first successful ListTables. */
  readonly startupMs: number;
  /** Stops the JVM and resolves when it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const OUTPUT_LINES_KEPT = 20;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 3;
const READY_POLL_MS = 100;

/** Credentials are never checked by DynamoDB Local, but the SDK needs some to sign. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/**
 * Starts DynamoDB Local and resolves once it answers ListTables.
 *
 * Throws {@link JavaNotFoundError} when `java` is not on PATH and
 * {@link EngineStartError} (with the JVM's last output lines) when it exits or
 * does not answer in time.
 *
 * @example
 * const ddb = await startDynamoDbLocal();
 * try {
 *   const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
 * } finally {
 *   await ddb.stop();
 * }
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const attempts = options.port === undefined ? PORT_ATTEMPTS : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await getFreePort());
    try {
      return await startOnPort(port, options);
    } catch (error) {
      // getFreePort only finds a port that was free a moment ago; another process may take it first.
      if (!(error instanceof PortInUseError) || attempt >= attempts) throw error;
      options.log?.(`DynamoDB Local: port ${port} was taken before the JVM bound it; trying another`);
    }
  }
}

function emulatorDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
}

/** The JVM's command line for DynamoDB Local on `port`. */
function javaArguments(port: number, options: DynamoDbLocalOptions): string[] {
  const directory = emulatorDirectory();
  const args = [
    `-Djava.library.path=${join(directory, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(directory, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-disableTelemetry',
  ];
  if (options.inMemory ?? true) args.push('-inMemory');
  else if (options.dbPath !== undefined) args.push('-dbPath', options.dbPath);
  if (options.sharedDb ?? true) args.push('-sharedDb');
  return args;
}

/** Why the JVM is gone before it was ready: java missing, not spawnable, or exited. */
function earlyExitError(
  spawnError: NodeJS.ErrnoException | undefined,
  exitCode: number | null,
  output: readonly string[],
): Error {
  if (spawnError?.code === 'ENOENT') return new JavaNotFoundError({ cause: spawnError });
  if (spawnError !== undefined) {
    return new EngineStartError('DynamoDB Local', `could not be spawned: ${spawnError.message}`, [], {
      cause: spawnError,
    });
  }
  return new EngineStartError('DynamoDB Local', `exited with code ${exitCode} before it was ready`, output);
}

async function startOnPort(port: number, options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  // Without this, ListTables could succeed against whatever already listens there.
  await assertPortFree(port);
  const args = javaArguments(port, options);
  const startedAt = performance.now();
  const output: string[] = [];
  let version: string | undefined;
  // DynamoDB Local writes dynamodb-local-metadata.json into its working directory even with
  // -disableTelemetry; run it in the temp dir so it never lands in the user's checkout.
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() });
  let spawnError: NodeJS.ErrnoException | undefined;
  let reportBindFailure: () => void = () => {};
  // On a bind failure the JVM prints the exception but keeps running, so it has to be spotted in its output.
  const bindFailed = new Promise<never>((_, reject) => {
    reportBindFailure = () => reject(new PortInUseError('DynamoDB Local', port, [...output]));
  });
  // 'error' without 'exit' happens when the binary cannot be spawned at all.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  const onLine = (line: string) => {
    if (line.trim() === '') return;
    output.push(line);
    if (output.length > OUTPUT_LINES_KEPT) output.shift();
    version ??= /^Version:\s*(\S+)/.exec(line)?.[1];
    if (/BindException|Failed to bind/.test(line)) reportBindFailure();
    options.log?.(`DynamoDB Local: ${line}`);
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);

  const guard = child.pid === undefined ? undefined : guardAgainstParentDeath(child);
  const stop = once(async () => {
    guard?.release();
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    options.log?.(`DynamoDB Local on port ${port} stopped`);
  });

  const endpoint = `http://${LOOPBACK_HOST}:${port}`;
  const giveUp = new AbortController();
  try {
    await Promise.race([
      bindFailed,
      exited.then(() => {
        throw earlyExitError(spawnError, child.exitCode, output);
      }),
      waitUntilAnswering(endpoint, options.startTimeoutMs ?? 60_000, output, giveUp.signal),
    ]);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    giveUp.abort();
  }
  const startupMs = Math.round(performance.now() - startedAt);
  options.log?.(`DynamoDB Local ${version ?? '(unknown version)'} ready at ${endpoint} in ${startupMs} ms`);
  return { endpoint, port, version, startupMs, stop };
}

async function waitUntilAnswering(
  endpoint: string,
  timeoutMs: number,
  output: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      // The process already exited or spawning failed: the race is decided elsewhere.
      if (signal.aborted) return;
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
      }
    }
  } finally {
    client.destroy();
  }
  throw new EngineStartError(
    'DynamoDB Local',
    `did not answer ListTables within ${timeoutMs} ms`,
    [...output],
    {
      cause: lastError,
    },
  );
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError('DynamoDB Local', port) : error),
    );
    probe.listen({ port, host: LOOPBACK_HOST, exclusive: true }, () => probe.close(() => resolve()));
  });
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Makes sure the JVM dies with this Node process.
 *
 * A 'process.exit' hook covers normal exits and uncaught exceptions, but not a
 * worker killed by a signal (vitest terminating a fork, `kill <pid>`). For that, a
 * tiny watchdog Node process holds a pipe from us: when our end closes, for any
 * reason, it SIGKILLs the JVM. Cross-platform, no shell involved.
 */
function guardAgainstParentDeath(child: ChildProcess): { release(): void } {
  liveChildren.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const live of liveChildren) live.kill('SIGKILL');
    });
  }
  const watchdogScript = [
    'const pid = Number(process.argv[1]);',
    'const kill = () => { try { process.kill(pid, "SIGKILL"); } catch {} process.exit(0); };',
    'process.stdin.on("end", kill); process.stdin.on("error", kill); process.stdin.resume();',
  ].join('\n');
  const watchdog = spawn(process.execPath, ['-e', watchdogScript, String(child.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { PATH: process.env.PATH ?? '' },
  });
  watchdog.on('error', () => {});
  watchdog.stdin?.on('error', () => {});
  // The watchdog must not keep this process's event loop alive.
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  liveChildren.add(watchdog);
  child.once('exit', () => {
    liveChildren.delete(child);
  });
  return {
    release() {
      // Kill the watchdog before stopping the JVM so it cannot race a reused pid.
      watchdog.kill('SIGKILL');
      liveChildren.delete(watchdog);
    },
  };
}

function forEachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (pending !== '') onLine(pending);
  });
}

function once(action: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= action();
    return running;
  };
}
