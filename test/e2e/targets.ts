import type { LocalPipelineState } from './local-state';

/** Environment variables the suite reads. */
export const E2E_ENV = {
  /** `1` to run against the local pipeline of `npm start -- --keep`; `0` never to choose it by itself. */
  local: 'OUTBOX_E2E_LOCAL',
  /** `1` to run against real AWS (no endpoint override). */
  realAws: 'OUTBOX_E2E_AWS',
  /** LocalStack's endpoint; its presence selects the LocalStack target. */
  endpoint: 'AWS_ENDPOINT_URL',
  /** Outputs file written by `cdk deploy --outputs-file` / `npm run local:deploy`. */
  outputsFile: 'OUTBOX_E2E_OUTPUTS_FILE',
  /** Stack whose outputs to read from the file. */
  stackName: 'OUTBOX_E2E_STACK',
  /** Upper bound, in seconds, on waiting for the consumers to catch up. */
  waitSeconds: 'OUTBOX_E2E_WAIT_SECONDS',
} as const;

/** The suite's configuration is inconsistent or the stack cannot be used. */
export class E2eConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The running local pipeline, or why there is none. */
export type LocalPipelineLookup = { readonly state: LocalPipelineState } | { readonly problem: string };

/** Which target the settings choose, and the setting that chose it. */
export type TargetChoice =
  | { readonly kind: 'none'; readonly reason: string }
  | {
      readonly kind: 'local';
      readonly state: LocalPipelineState;
      readonly chosenBy: string;
      /** Chosen because no target was set and the state file names a live process. */
      readonly automatic: boolean;
    }
  | { readonly kind: 'localstack'; readonly endpoint: string; readonly chosenBy: string }
  | { readonly kind: 'aws'; readonly chosenBy: string };

/**
 * Chooses the target from the environment:
 * - `OUTBOX_E2E_LOCAL=1`: the local pipeline; it must be running. `AWS_ENDPOINT_URL` does not
 *   matter to it (every client gets the local endpoints), so it may stay set.
 * - `AWS_ENDPOINT_URL`: LocalStack. `OUTBOX_E2E_AWS=1`: real AWS. Both at once contradict each
 *   other (the SDK would send the "real AWS" calls to the endpoint), as does either with
 *   `OUTBOX_E2E_LOCAL=1` and `OUTBOX_E2E_AWS=1` together.
 * - None of them: the local pipeline when its state file names a live process (unless
 *   `OUTBOX_E2E_LOCAL=0`); otherwise no target, and the suite is skipped.
 *
 * @throws E2eConfigurationError for invalid or contradictory values, or `OUTBOX_E2E_LOCAL=1` without a running pipeline
 */
export function chooseTarget(
  env: NodeJS.ProcessEnv,
  stateFile: string,
  lookupLocal: () => LocalPipelineLookup,
): TargetChoice {
  const local = readFlag(env, E2E_ENV.local);
  const realAws = readFlag(env, E2E_ENV.realAws);
  const endpoint = nonEmpty(env[E2E_ENV.endpoint]);
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    throw new E2eConfigurationError(
      `${E2E_ENV.endpoint} must be a URL such as http://localhost.localstack.cloud:4566 (given '${endpoint}')`,
    );
  }
  if (realAws === true && (local === true || endpoint !== undefined)) {
    const other = local === true ? `${E2E_ENV.local}=1` : `${E2E_ENV.endpoint} (LocalStack)`;
    throw new E2eConfigurationError(
      `${E2E_ENV.realAws}=1 (real AWS) and ${other} choose different targets: set only one`,
    );
  }

  if (local === true) {
    const found = lookupLocal();
    if ('problem' in found) {
      throw new E2eConfigurationError(
        `${E2E_ENV.local}=1 asks for the local pipeline, but ${found.problem}; start it with ` +
          '`npm start -- --keep` and wait until it prints its endpoints',
      );
    }
    return {
      kind: 'local',
      state: found.state,
      chosenBy: `${E2E_ENV.local}=1${endpoint === undefined ? '' : ` (${E2E_ENV.endpoint} is not used for it)`}`,
      automatic: false,
    };
  }
  if (endpoint !== undefined) return { kind: 'localstack', endpoint, chosenBy: E2E_ENV.endpoint };
  if (realAws === true) return { kind: 'aws', chosenBy: `${E2E_ENV.realAws}=1` };

  const none = `none of ${E2E_ENV.local}=1 (local pipeline), ${E2E_ENV.endpoint} (LocalStack) or ${E2E_ENV.realAws}=1 (real AWS) is set`;
  if (local === false)
    return { kind: 'none', reason: `${none}, and ${E2E_ENV.local}=0 keeps the local pipeline out` };
  const found = lookupLocal();
  if ('problem' in found)
    return { kind: 'none', reason: `${none}, and no local pipeline is running (${found.problem})` };
  return {
    kind: 'local',
    state: found.state,
    chosenBy:
      `default: no target is set and ${stateFile} names a running pipeline (pid ${found.state.pid}); ` +
      `${E2E_ENV.local}=0 turns this off`,
    automatic: true,
  };
}

/** `1` → true, `0` → false, unset or empty → undefined. */
function readFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = nonEmpty(env[name]);
  if (value === undefined) return undefined;
  if (value === '1') return true;
  if (value === '0') return false;
  throw new E2eConfigurationError(`${name} must be 1, 0 or unset (given '${value}')`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
