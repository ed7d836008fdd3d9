import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

/**
 * The machine a run's figures come from, for the scripts that record their results: `npm run
 * bench` (bench/results/*.json) and `npm start -- --json`.
 */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly totalMemoryGiB: number;
  readonly platform: string;
  readonly java: string;
  /** 1-minute load average when the run started: other work on a shared machine moves the absolute figures. */
  readonly loadAverageAtStart: number;
}

/** CPU, cores, memory, Node and Java versions (Java runs DynamoDB Local), platform and load average. */
export function machineInfo(): MachineInfo {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const javaVersion = /version "([^"]+)"/.exec(`${java.stderr ?? ''}${java.stdout ?? ''}`)?.[1] ?? 'unknown';
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    totalMemoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    platform: `${process.platform} ${release()} ${process.arch}`,
    java: javaVersion,
    loadAverageAtStart: Math.round((loadavg()[0] ?? Number.NaN) * 100) / 100,
  };
}
