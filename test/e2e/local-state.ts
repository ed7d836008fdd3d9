import { readFileSync } from 'node:fs';

/**
 * The state file `npm start -- --keep` writes while the local pipeline runs (LOCAL_STATE_FILE in
 * local/pipeline.ts, written by local/cli/start.ts and removed when that process exits).
 */

/** The local engines' endpoints, one per service. */
export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly s3: string;
  readonly eventbridge: string;
}

/** `.local/pipeline.json`: `{ pid, startedAt, region, endpoints, functionUrls, outputs }`. */
export interface LocalPipelineState {
  /** The process that runs the pipeline (and removes the file when it exits). */
  readonly pid: number;
  readonly startedAt: string;
  readonly region: string;
  readonly endpoints: LocalEndpoints;
  /** Function URL per function logical id, e.g. `http://127.0.0.1:43811/`. */
  readonly functionUrls: Readonly<Record<string, string>>;
  /** The stack outputs, resolved to local names and URLs. */
  readonly outputs: Readonly<Record<string, string>>;
}

/** The state file is unreadable or not what `npm start -- --keep` writes. */
export class LocalStateError extends Error {
  override readonly name = 'LocalStateError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`local pipeline state ${file}: ${problem}`);
  }
}

const ENDPOINT_SERVICES = ['dynamodb', 'sqs', 's3', 'eventbridge'] as const;

/**
 * Reads and checks the state file.
 *
 * @throws LocalStateError naming the file and the field that is missing or malformed
 */
export function readLocalPipelineState(file: string): LocalPipelineState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LocalStateError(file, `cannot be read (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LocalStateError(file, `is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(parsed)) throw new LocalStateError(file, 'must be a JSON object');
  const { pid, startedAt, region, endpoints, functionUrls, outputs } = parsed;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new LocalStateError(file, `pid must be a process id (given ${JSON.stringify(pid)})`);
  }
  if (typeof region !== 'string' || region === '') {
    throw new LocalStateError(file, `region must be an AWS region (given ${JSON.stringify(region)})`);
  }
  if (!isRecord(endpoints)) throw new LocalStateError(file, 'has no endpoints object');
  const checkedEndpoints = {} as Record<(typeof ENDPOINT_SERVICES)[number], string>;
  for (const service of ENDPOINT_SERVICES) {
    const url = endpoints[service];
    if (typeof url !== 'string' || !URL.canParse(url)) {
      throw new LocalStateError(file, `endpoints.${service} must be a URL (given ${JSON.stringify(url)})`);
    }
    checkedEndpoints[service] = url;
  }
  if (!isStringRecord(outputs)) throw new LocalStateError(file, 'outputs must map output keys to strings');
  if (!isStringRecord(functionUrls)) {
    throw new LocalStateError(file, 'functionUrls must map function ids to URLs');
  }
  return {
    pid,
    startedAt: typeof startedAt === 'string' ? startedAt : '',
    region,
    endpoints: checkedEndpoints,
    functionUrls,
    outputs,
  };
}

/** Whether a process with this id exists (EPERM: it does, as another user's). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}
