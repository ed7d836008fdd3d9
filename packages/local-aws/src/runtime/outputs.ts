/** Step 7 of start-up: the stack outputs, resolved to local names and URLs. */
import { type LocalResource, resolveValue } from '../template/intrinsics';
import type { Topology } from '../template/topology';

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
