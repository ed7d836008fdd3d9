import cliProgress from 'cli-progress';

/** A progress bar for one phase of the benchmark, on stderr so stdout keeps only the results. */
export interface PhaseBar {
  increment(by?: number): void;
  update(value: number): void;
  setTotal(total: number): void;
  /** Ends the bar; safe to call twice. */
  stop(): void;
}

/**
 * Starts a bar for a phase. On a terminal it redraws in place; when stderr is
 * not a terminal (CI, a pipe) it prints a line every few seconds instead, so a
 * log still shows that the run is alive.
 */
export function phaseBar(phase: string, total: number, unit: string): PhaseBar {
  const bar = new cliProgress.SingleBar(
    {
      format: ` ${phase.padEnd(34)} |{bar}| {value}/{total} ${unit} ({duration_formatted})`,
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(1, total), 0);
  let stopped = false;
  return {
    increment: (by = 1) => bar.increment(by),
    update: (value) => bar.update(value),
    setTotal: (value) => bar.setTotal(Math.max(1, value)),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/** Runs `work` with a bar that is stopped however `work` ends. */
export async function withBar<T>(
  phase: string,
  total: number,
  unit: string,
  work: (bar: PhaseBar) => Promise<T>,
): Promise<T> {
  const bar = phaseBar(phase, total, unit);
  try {
    return await work(bar);
  } finally {
    bar.stop();
  }
}
