/**
 * The local runtime runs every function in worker threads of its own Node
 * process, so a function can only run on the Node major its `Runtime`
 * declares (`nodejs24.x` → Node 24) if this process is that Node.
 */
import type { FunctionSpec } from '../template/topology';

/** Functions of the template declare a Node.js runtime other than the one running them. */
export class NodeRuntimeMismatchError extends Error {
  constructor(
    readonly mismatches: ReadonlyArray<{ readonly functionLogicalId: string; readonly runtime: string }>,
    readonly nodeVersion: string,
  ) {
    const listed = mismatches.map((m) => `${m.functionLogicalId} declares runtime ${m.runtime}`).join(', ');
    super(
      `${listed}, but the local runtime runs Node ${nodeVersion}, and functions run in worker threads of this process. ` +
        'Run through the npm scripts (npm test, npm start), which use the node devDependency of the project, ' +
        `or change the functions' Runtime to nodejs${majorOf(nodeVersion)}.x.`,
    );
    this.name = new.target.name;
  }
}

/**
 * Checks each function's `nodejs<major>.x` runtime against the Node that runs this process.
 *
 * @param nodeVersion the running Node's version
 * @default nodeVersion `process.versions.node`
 * @throws NodeRuntimeMismatchError naming every function whose runtime does not match
 * @example
 * checkNodeRuntimes(topology.functions); // before any worker is started
 */
export function checkNodeRuntimes(
  functions: ReadonlyArray<Pick<FunctionSpec, 'logicalId' | 'runtime'>>,
  nodeVersion: string = process.versions.node,
): void {
  const running = majorOf(nodeVersion);
  if (running === undefined) throw new TypeError(`not a Node version: ${JSON.stringify(nodeVersion)}`);
  const mismatches = functions.flatMap((fn) => {
    const declared = /^nodejs(\d+)\.x$/.exec(fn.runtime)?.[1];
    return declared !== undefined && Number(declared) !== running
      ? [{ functionLogicalId: fn.logicalId, runtime: fn.runtime }]
      : [];
  });
  if (mismatches.length > 0) throw new NodeRuntimeMismatchError(mismatches, nodeVersion);
}

function majorOf(version: string): number | undefined {
  const major = /^v?(\d+)\./.exec(version)?.[1];
  return major === undefined ? undefined : Number(major);
}
