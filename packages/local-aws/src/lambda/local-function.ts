import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { seededRandom } from '../faults';
import { lambdaTraceId } from '../trace-header';

const WORKER_HOST = join(dirname(fileURLToPath(import.meta.url)), 'worker-host.mjs');

/** What the local runtime needs to run one function: the bundled asset and its configuration. */
export interface LocalFunctionConfig {
  /** Logical id in the template; also the local function name. */
  readonly name: string;
  /** Absolute path of the bundled module (e.g. cdk.out/asset.<hash>/index.mjs). */
  readonly modulePath: string;
  /** Exported handler name (from `index.handler`). */
  readonly exportName: string;
  /** Environment the stack gives the function, resolved to local names and endpoints. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** Where the function's stdout/stderr go. @default discarded */
  readonly logFile?: string;
  /** Execution environments running at once (Lambda's concurrency). @default 1 */
  readonly concurrency?: number;
}

/** How one invocation is made. */
export interface InvokeOptions {
  /**
   * The caller's X-Ray trace header (e.g. a Function URL request's X-Amzn-Trace-Id).
   * The invocation's `_X_AMZN_TRACE_ID` continues its Root and Sampled flag.
   * @default a new trace root for the invocation
   */
  readonly traceHeader?: string;
}

/** Raised when an invocation throws, times out, or the module fails to load; mirrors a Lambda function error. */
export class FunctionError extends Error {
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    message: string,
  ) {
    super(`${functionName} failed: ${errorType}: ${message}`);
    this.name = 'FunctionError';
  }
}

interface Environment {
  worker: Worker;
  ready: Promise<number>;
  busy: boolean;
  /** Started before the last configuration change: replaced when its invocation ends. */
  stale?: boolean;
}

/**
 * A Lambda function run locally: each execution environment is a worker thread
 * with its own `process.env` and module graph, loading the same bundle that
 * deploys. Invocations queue for a free environment; one that exceeds the
 * timeout fails with `Task timed out` and its environment is replaced, as Lambda does.
 */
export class LocalFunction {
  readonly coldStartsMs: number[] = [];
  private readonly environments: Environment[] = [];
  private readonly waiting: Array<() => void> = [];
  private readonly log: WriteStream | undefined;
  private nextId = 0;
  private stopped = false;
  invocations = 0;
  errors = 0;
  /** Injected crashes so far. */
  crashes = 0;
  private crashRate = 0;
  private random: () => number = Math.random;

  constructor(private config: LocalFunctionConfig) {
    if (!config.name) throw new FunctionError('?', 'ConfigError', 'name is required');
    const concurrency = config.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new FunctionError(
        config.name,
        'ConfigError',
        `concurrency must be between 1 and 64 (given ${concurrency})`,
      );
    }
    if (config.logFile) {
      mkdirSync(dirname(config.logFile), { recursive: true });
      this.log = createWriteStream(config.logFile, { flags: 'a' });
    }
    for (let i = 0; i < concurrency; i++) this.environments.push(this.spawn());
  }

  get name(): string {
    return this.config.name;
  }

  /** Resolves when every execution environment has loaded the module (cold start done). */
  async ready(): Promise<void> {
    await Promise.all(this.environments.map((env) => env.ready));
  }

  /**
   * Invokes the function with an event; resolves with its result or rejects with a FunctionError.
   * The handler sees `_X_AMZN_TRACE_ID` for this invocation, as Lambda sets it.
   */
  async invoke<R = unknown>(event: unknown, options: InvokeOptions = {}): Promise<R> {
    if (this.stopped) throw new FunctionError(this.name, 'Stopped', 'the local runtime is stopping');
    const env = await this.acquire();
    this.invocations++;
    try {
      await env.ready;
      return await this.run<R>(env, event, lambdaTraceId(options.traceHeader));
    } catch (error) {
      this.errors++;
      throw error;
    } finally {
      env.busy = false;
      if (env.stale) this.replace(env);
      this.waiting.shift()?.();
    }
  }

  /** The environment variables new execution environments start with. */
  get environment(): Readonly<Record<string, string>> {
    return this.config.environment;
  }

  /**
   * Changes environment variables as `UpdateFunctionConfiguration` does: idle execution
   * environments are replaced at once, busy ones when their invocation ends, so every invocation
   * that starts after this call sees the new values (a deploy that changes the environment).
   */
  updateEnvironment(changes: Readonly<Record<string, string>>): void {
    for (const [name, value] of Object.entries(changes)) {
      if (typeof value !== 'string') {
        throw new FunctionError(
          this.name,
          'ConfigError',
          `environment variable ${name} must be a string (given ${typeof value})`,
        );
      }
    }
    this.config = { ...this.config, environment: { ...this.config.environment, ...changes } };
    for (const env of [...this.environments]) {
      if (env.busy) env.stale = true;
      else this.replace(env);
    }
  }

  /**
   * Crash injection: each invocation crashes with this probability, either part-way
   * (the environment is killed after a random delay) or after the handler returned
   * (its effects done, its response lost). Seeded, so a run can be replayed.
   */
  setFaults(faults: { crashRate?: number; seed?: number }): void {
    const rate = faults.crashRate ?? 0;
    if (!(rate >= 0 && rate <= 1))
      throw new FunctionError(this.name, 'ConfigError', `crashRate must be between 0 and 1 (given ${rate})`);
    this.crashRate = rate;
    this.random = seededRandom(faults.seed ?? 1);
  }

  /** Terminates every execution environment. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.environments.map((env) => env.worker.terminate()));
    for (const wake of this.waiting.splice(0)) wake();
    this.log?.end();
  }

  /** Replaces a dead or abandoned execution environment, as Lambda starts a fresh one. */
  private replace(env: Environment): void {
    const index = this.environments.indexOf(env);
    void env.worker.terminate();
    if (index >= 0 && !this.stopped) this.environments[index] = this.spawn();
  }

  private spawn(): Environment {
    const worker = new Worker(WORKER_HOST, {
      workerData: {
        modulePath: this.config.modulePath,
        exportName: this.config.exportName,
        functionName: this.config.name,
        functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${this.config.name}`,
        memorySize: this.config.memorySize,
        timeoutMs: this.config.timeoutSeconds * 1000,
      },
      env: { ...this.config.environment },
      stdout: true,
      stderr: true,
    });
    if (this.log) {
      worker.stdout.pipe(this.log, { end: false });
      worker.stderr.pipe(this.log, { end: false });
    } else {
      worker.stdout.resume();
      worker.stderr.resume();
    }
    const ready = new Promise<number>((resolve, reject) => {
      const onMessage = (message: {
        type: string;
        initMs?: number;
        error?: { name: string; message: string };
      }) => {
        if (message.type === 'ready') {
          worker.off('message', onMessage);
          this.coldStartsMs.push(message.initMs ?? 0);
          resolve(message.initMs ?? 0);
        } else if (message.type === 'init-error') {
          worker.off('message', onMessage);
          reject(
            new FunctionError(
              this.name,
              `Init:${message.error?.name}`,
              message.error?.message ?? 'init failed',
            ),
          );
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (error) => reject(new FunctionError(this.name, 'Init', error.message)));
    });
    ready.catch(() => undefined);
    return { worker, ready, busy: false };
  }

  private async acquire(): Promise<Environment> {
    for (;;) {
      if (this.stopped) throw new FunctionError(this.name, 'Stopped', 'the local runtime is stopping');
      const free = this.environments.find((env) => !env.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private run<R>(env: Environment, event: unknown, traceId: string): Promise<R> {
    const id = this.nextId++;
    const crash =
      this.crashRate > 0 && this.random() < this.crashRate
        ? this.random() < 0.5
          ? 'mid-invocation'
          : 'after-return'
        : undefined;
    if (crash) this.crashes++;
    let crashTimer: NodeJS.Timeout | undefined;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        // A timed-out environment may still be running the handler: replace it, as Lambda does.
        this.replace(env);
        reject(
          new FunctionError(
            this.name,
            'Sandbox.Timedout',
            `Task timed out after ${this.config.timeoutSeconds}.00 seconds`,
          ),
        );
      }, this.config.timeoutSeconds * 1000);
      const onMessage = (message: {
        type: string;
        id: number;
        ok: boolean;
        result?: R;
        error?: { name: string; message: string };
      }) => {
        if (message.type !== 'result' || message.id !== id) return;
        cleanup();
        if (crash === 'after-return') {
          // The handler finished (its side effects happened) but the runtime died before
          // returning: the caller sees a failure and will redeliver.
          this.replace(env);
          reject(
            new FunctionError(this.name, 'Runtime.ExitError', 'injected crash after the handler returned'),
          );
          return;
        }
        if (message.ok) resolve(message.result as R);
        else
          reject(
            new FunctionError(
              this.name,
              message.error?.name ?? 'Error',
              message.error?.message ?? 'unknown error',
            ),
          );
      };
      const onExit = (code: number) => {
        cleanup();
        reject(
          new FunctionError(this.name, 'Runtime.ExitError', `execution environment exited with code ${code}`),
        );
      };
      const cleanup = () => {
        clearTimeout(timer);
        clearTimeout(crashTimer);
        env.worker.off('message', onMessage);
        env.worker.off('exit', onExit);
      };
      env.worker.on('message', onMessage);
      env.worker.once('exit', onExit);
      env.worker.postMessage({ id, event, traceId });
      if (crash === 'mid-invocation') {
        // Killed part-way: whatever the handler had already done stays done.
        crashTimer = setTimeout(
          () => {
            cleanup();
            this.replace(env);
            reject(new FunctionError(this.name, 'Runtime.ExitError', 'injected crash during the invocation'));
          },
          Math.floor(this.random() * 100),
        );
      }
    });
  }
}
