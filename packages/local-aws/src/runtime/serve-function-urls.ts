/**
 * Step 5 of start-up: every `AWS::Lambda::Url` of the template, served on loopback; with IAM, each
 * request is authorized first (AuthType, the function's resource policy, the caller's identity policy).
 */
import { serveFunctionUrl } from '../lambda/function-url-server';
import type { LocalFunction } from '../lambda/local-function';
import type { LocalResource } from '../template/intrinsics';
import type { Topology } from '../template/topology';
import type { RuntimeIam } from './iam';
import type { StopList } from './stop-list';

/** Serves the Function URLs; returns their URLs by function logical id and records them in `resources`. */
export async function serveFunctionUrls(
  topology: Topology,
  functions: ReadonlyMap<string, LocalFunction>,
  resources: Map<string, LocalResource>,
  iam: RuntimeIam,
  stops: StopList,
): Promise<Map<string, string>> {
  const functionUrls = new Map<string, string>();
  for (const spec of topology.functionUrls) {
    const fn = functions.get(spec.functionLogicalId);
    if (!fn) continue;
    const served = await serveFunctionUrl(fn, iam.functionUrlAuthorizer(spec.functionLogicalId));
    stops.add(() => served.stop());
    functionUrls.set(spec.functionLogicalId, served.url);
    resources.set(spec.logicalId, { ref: served.url, attributes: { FunctionUrl: served.url } });
  }
  return functionUrls;
}
