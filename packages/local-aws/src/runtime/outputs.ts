/**
 * Step 7 of start-up: the stack outputs, resolved to local names and URLs, and
 * optionally written as `cdk deploy --outputs-file` writes them.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type LocalResource, resolveValue } from '../template/intrinsics';
import type { Topology } from '../template/topology';
import type { StopList } from './stop-list';

/** Every output the local resources can resolve; outputs of resources not run locally are left out. */
export function resolveOutputs(
  topology: Topology,
  resources: ReadonlyMap<string, LocalResource>,
): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(topology.outputs)) {
    try {
      outputs[key] = resolveValue(value, resources, `Outputs.${key}`);
    } catch {
      // E.g. log groups: the local runtime does not create them.
    }
  }
  return outputs;
}

/**
 * Writes `{ "<stackName>": { "<OutputKey>": "<value>" } }` to `file`, the shape
 * `cdk deploy --outputs-file` writes, so a suite written for a deployed stack
 * reads the local one; `stop()` removes it again. Written to a temporary file
 * and renamed, so a reader never sees half of it.
 */
export function writeOutputsFile(
  file: string,
  stackName: string,
  outputs: Readonly<Record<string, string>>,
  stops: StopList,
): void {
  if (typeof file !== 'string' || file.trim() === '') {
    throw new TypeError(`outputsFile must be a file path (given ${JSON.stringify(file)})`);
  }
  mkdirSync(dirname(file), { recursive: true });
  const scratch = `${file}.${process.pid}.tmp`;
  writeFileSync(scratch, `${JSON.stringify({ [stackName]: outputs }, null, 2)}\n`);
  renameSync(scratch, file);
  stops.add(async () => rmSync(file, { force: true }));
}
