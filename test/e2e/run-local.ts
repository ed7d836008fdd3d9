import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../contract/project';
import { LOCAL_OUTPUTS_FILE, LOCAL_STATE_FILE } from '../../local/pipeline';
import { isProcessAlive, readLocalPipelineState } from './local-state';

/**
 * Runs the deployed-stack suite against a local pipeline of its own, as CI does:
 *
 *   npx tsx test/e2e/run-local.ts [npm start options]     (default: --events 200 --aggregates 20)
 *
 * 1. starts `npm start -- --keep <options>` in a process group of its own (its output goes to
 *    this process's output, prefixed, and to .local/e2e-start.log);
 * 2. waits until the pipeline's state file (.local/pipeline.json) names a live process;
 * 3. runs `vitest run --config vitest.e2e.config.ts` with OUTBOX_E2E_LOCAL=1;
 * 4. stops it: SIGTERM to the pipeline's own process (the pid in the state file), which shuts
 *    the engines down and removes the state file, then SIGTERM to the whole process group (npm,
 *    sh, tsx and anything left), and checks that every process of the group is gone and that the
 *    state and outputs files were removed.
 *
 * Why not one signal to the group: tsx's CLI relays a SIGINT/SIGTERM it receives to its child and
 * SIGKILLs the child when no acknowledgement comes back within about 60 ms, which happens when
 * the child is busy shutting down; the pipeline then dies without its exit hook and leaves
 * .local/pipeline.json behind. `RUN_LOCAL_STOP=group` stops with one SIGTERM to the group
 * instead, to check a fix of that in local/cli/start.ts.
 *
 * Exit code: the suite's; 1 when the pipeline did not start, or did not stop cleanly (that is
 * reported, then the group is killed and the files it left are removed, so nothing lingers).
 */

const DEFAULT_START_OPTIONS = ['--events', '200', '--aggregates', '20'];
/** A cold start synthesizes the stack (about 20 s here) and runs the demo workload first. */
const START_TIMEOUT_MS = 10 * 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_FILE = `${dirname(LOCAL_STATE_FILE)}/e2e-start.log`;
const shown = (file: string) => relative(process.cwd(), file) || file;

async function main(): Promise<number> {
  const startOptions = process.argv.slice(2).filter((arg) => arg !== '--');
  if (existsSync(LOCAL_STATE_FILE)) {
    const state = readLocalPipelineState(LOCAL_STATE_FILE);
    if (isProcessAlive(state.pid)) {
      console.error(
        `[run-local] a local pipeline is already running (pid ${state.pid}, ${shown(LOCAL_STATE_FILE)}): ` +
          'stop it, or run `OUTBOX_E2E_LOCAL=1 npm run test:e2e` against it',
      );
      return 1;
    }
    console.log(`[run-local] removing ${shown(LOCAL_STATE_FILE)} of pid ${state.pid}, which is not running`);
    rmSync(LOCAL_STATE_FILE, { force: true });
  }

  const options = startOptions.length > 0 ? startOptions : DEFAULT_START_OPTIONS;
  const startedAt = Date.now();
  console.log(`[run-local] npm start -- --keep ${options.join(' ')}`);
  const pipeline = startPipeline(['start', '--', '--keep', ...options]);
  const group = pipeline.child.pid;
  if (group === undefined) {
    console.error('[run-local] npm start could not be spawned');
    return 1;
  }
  let pipelinePid: number | undefined;
  let stopping: Promise<boolean> | undefined;
  const stop = () => {
    stopping ??= stopPipeline(
      group,
      pipeline,
      process.env.RUN_LOCAL_STOP === 'group' ? undefined : pipelinePid,
    );
    return stopping;
  };
  const stopOnSignal = (signal: NodeJS.Signals) => {
    console.error(`[run-local] ${signal}: stopping the pipeline`);
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  let suiteCode = 1;
  let stopped = false;
  try {
    const pid = await waitForPipeline(pipeline, startedAt);
    pipelinePid = pid;
    console.log(
      `[run-local] pipeline ready after ${((Date.now() - startedAt) / 1000).toFixed(1)} s (pid ${pid}); running the suite`,
    );
    const suiteStarted = Date.now();
    suiteCode = await runSuite();
    console.log(
      `[run-local] suite exited ${suiteCode} after ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    console.error(`[run-local] ${(error as Error).message}`);
  } finally {
    stopped = await stop();
  }
  return stopped ? suiteCode : 1;
}

interface RunningPipeline {
  readonly child: ChildProcess;
  /** Set once npm has exited. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** The last lines it printed. */
  readonly tail: string[];
}

function startPipeline(args: string[]): RunningPipeline {
  mkdirSync(dirname(LOG_FILE), { recursive: true });
  const log = createWriteStream(LOG_FILE);
  // detached: npm leads a new process group, so one signal reaches npm, tsx, the pipeline and its engines.
  const child = spawn('npm', args, { cwd: PROJECT_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const running: RunningPipeline = { child, tail: [] };
  const forward = (chunk: Buffer) => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      console.log(`[npm start] ${line}`);
      running.tail.push(line);
      if (running.tail.length > 30) running.tail.shift();
    }
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  child.once('exit', (code, signal) => {
    running.exit = { code, signal };
    log.end();
  });
  return running;
}

/** The pid of the pipeline once its state file (written after this run began) names a live process. */
async function waitForPipeline(pipeline: RunningPipeline, startedAt: number): Promise<number> {
  const deadline = startedAt + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (pipeline.exit) {
      throw new Error(
        `npm start exited (code ${pipeline.exit.code}, signal ${pipeline.exit.signal}) before the pipeline was ready; ` +
          `its last lines:\n${pipeline.tail.join('\n')}`,
      );
    }
    if (existsSync(LOCAL_STATE_FILE)) {
      try {
        const state = readLocalPipelineState(LOCAL_STATE_FILE);
        if (Date.parse(state.startedAt) >= startedAt - 1000 && isProcessAlive(state.pid)) return state.pid;
      } catch {
        // Being written: read it again.
      }
    }
    await sleep(500);
  }
  throw new Error(
    `the pipeline did not write ${shown(LOCAL_STATE_FILE)} within ${START_TIMEOUT_MS / 1000} s`,
  );
}

function runSuite(): Promise<number> {
  const suite = spawn('npx', ['vitest', 'run', '--config', 'vitest.e2e.config.ts'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    env: { ...process.env, OUTBOX_E2E_LOCAL: '1' },
  });
  return new Promise((done) => {
    suite.once('error', () => done(1));
    suite.once('exit', (code) => done(code ?? 1));
  });
}

/**
 * SIGTERM to the pipeline process (when known) and, once it is gone, to the process group; then
 * checks: every process of the group gone within STOP_TIMEOUT_MS, and the state and outputs
 * files removed. Returns whether all held; on a failure it says what, SIGKILLs the group and
 * removes the files, so nothing is left behind.
 */
async function stopPipeline(
  group: number,
  pipeline: RunningPipeline,
  pipelinePid?: number,
): Promise<boolean> {
  const problems: string[] = [];
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  if (pipelinePid !== undefined) {
    signalProcess(pipelinePid, 'SIGTERM');
    while (isProcessAlive(pipelinePid) && Date.now() < deadline) await sleep(200);
  }
  signalGroup(group, 'SIGTERM');
  while (groupAlive(group) && Date.now() < deadline) await sleep(200);
  if (groupAlive(group)) {
    problems.push(`processes of group ${group} were still running ${STOP_TIMEOUT_MS / 1000} s after SIGTERM`);
    signalGroup(group, 'SIGKILL');
    while (groupAlive(group)) await sleep(200);
  }
  for (const file of [LOCAL_STATE_FILE, LOCAL_OUTPUTS_FILE]) {
    if (existsSync(file)) {
      problems.push(`${shown(file)} was left behind`);
      rmSync(file, { force: true });
    }
  }
  const how =
    (pipelinePid === undefined
      ? 'SIGTERM to the group; '
      : `SIGTERM to pid ${pipelinePid}, then to the group; `) +
    (pipeline.exit
      ? `npm exited (code ${pipeline.exit.code}, signal ${pipeline.exit.signal})`
      : 'npm is gone');
  if (problems.length === 0) {
    console.log(
      `[run-local] pipeline stopped: ${how}, no process of group ${group} left, state and outputs files removed`,
    );
    return true;
  }
  console.error(`[run-local] the pipeline did not stop cleanly (${how}): ${problems.join('; ')}`);
  return false;
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  signalProcess(-group, signal);
}

/** A signal to a process (or, negative, a process group) that may be gone already. */
function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Whether any process of the group is left (signal 0 to the group). */
function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[run-local] ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
