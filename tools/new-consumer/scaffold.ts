import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { consumerConstructId, consumerNameProblem } from '../../contract/consumer-name';
import { consumerEntry, type StartPosition } from '../../contract/consumers';
import { catalog, type EventType } from '../../functions/events/catalog';
import { type ConsumerSpec, consumerSource, consumerTestSource, registryEntry } from './templates';

/** The line of the consumer registry above which new entries go. */
export const REGISTRY_MARKER = '// new:consumer adds entries above this line';
/** The consumer registry, from the project root. */
export const REGISTRY_FILE = 'contract/consumers.ts';

/** A request the tool refuses; the message says what to do instead. Nothing was written. */
export class ScaffoldError extends Error {
  override readonly name = 'ScaffoldError';
}

/** What to scaffold, as the command line says it. */
export interface ScaffoldRequest {
  readonly name: string;
  readonly ordered: boolean;
  /** Event types given with `--events`; for an ordered consumer, none means every catalog type. */
  readonly events?: ReadonlyArray<string>;
  /** Ordered consumers: where an aggregate without a checkpoint starts. @default 'earliest' */
  readonly startPosition?: StartPosition;
}

/** A file to create or replace, from the project root. */
export interface PlannedFile {
  readonly path: string;
  readonly content: string;
  /** Whether the file exists and is replaced (the registry) or is new. */
  readonly replaces: boolean;
}

/** Everything the tool will write, checked before anything is. */
export interface ScaffoldPlan {
  readonly spec: ConsumerSpec;
  readonly files: ReadonlyArray<PlannedFile>;
  /** The entry added to the registry. */
  readonly registration: string;
}

/**
 * Checks a request against the project under `root` and plans every write: the consumer, its
 * test and the registry with the new entry above {@link REGISTRY_MARKER}.
 *
 * @throws ScaffoldError for a bad name, unknown event types, an existing consumer or a registry
 *   without the marker
 */
export function planConsumer(request: ScaffoldRequest, root: string): ScaffoldPlan {
  const { name } = request;
  const problem = consumerNameProblem(name);
  if (problem) throw new ScaffoldError(problem);
  if (!request.ordered && request.startPosition !== undefined) {
    throw new ScaffoldError(
      '--start-position is for ordered consumers (--ordered): unordered consumers have no order to start',
    );
  }
  const handles = eventTypes(request);
  const spec: ConsumerSpec = {
    name,
    id: consumerConstructId(name),
    ordered: request.ordered,
    handles,
    startPosition: request.startPosition ?? 'earliest',
  };

  const consumerPath = `functions/${consumerEntry(name)}.ts`;
  const testPath = `test/functions/consumers/${name}.test.ts`;
  for (const path of [consumerPath, testPath]) {
    if (existsSync(join(root, path))) {
      throw new ScaffoldError(`${path} already exists: choose another name (nothing was written)`);
    }
  }

  const registryPath = join(root, REGISTRY_FILE);
  if (!existsSync(registryPath)) throw new ScaffoldError(`${REGISTRY_FILE} not found under ${root}`);
  const registry = readFileSync(registryPath, 'utf8');
  const lines = registry.split('\n');
  const markers = lines.flatMap((line, index) => (line.trim() === REGISTRY_MARKER ? [index] : []));
  if (markers.length !== 1) {
    throw new ScaffoldError(
      markers.length === 0
        ? `${REGISTRY_FILE} has no "${REGISTRY_MARKER}" line: add it as the last line of the CONSUMERS array, then run this again (nothing was written)`
        : `${REGISTRY_FILE} has the "${REGISTRY_MARKER}" line ${markers.length} times; keep one (nothing was written)`,
    );
  }
  if (registry.includes(`name: '${name}'`)) {
    throw new ScaffoldError(
      `${REGISTRY_FILE} already declares ${name}: choose another name (nothing was written)`,
    );
  }
  const markerIndex = markers[0] as number;
  const indent = /^\s*/.exec(lines[markerIndex] ?? '')?.[0] ?? '';
  const registration = registryEntry(spec, indent);
  lines.splice(markerIndex, 0, registration);

  return {
    spec,
    registration,
    files: [
      { path: consumerPath, content: consumerSource(spec), replaces: false },
      { path: testPath, content: consumerTestSource(spec), replaces: false },
      { path: REGISTRY_FILE, content: lines.join('\n'), replaces: true },
    ],
  };
}

function eventTypes(request: ScaffoldRequest): EventType[] {
  const known = catalog.types.join(', ');
  const given = [...new Set((request.events ?? []).map((type) => type.trim()).filter((type) => type !== ''))];
  if (given.length === 0) {
    if (request.ordered) return [...catalog.types];
    throw new ScaffoldError(
      `say which event types the consumer handles with --events (known: ${known}), or make it --ordered`,
    );
  }
  const unknown = given.filter((type) => !catalog.has(type));
  if (unknown.length > 0) {
    throw new ScaffoldError(
      `unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: the catalog (functions/events/catalog.ts) has ${known}`,
    );
  }
  return given as EventType[];
}

/**
 * Writes a plan all or nothing: every file goes to a temporary file next to its target first,
 * then each is renamed into place; if a step fails, what was already placed is undone.
 */
export function writePlan(plan: ScaffoldPlan, root: string): void {
  const suffix = `.new-consumer-${process.pid}.tmp`;
  const staged: Array<{ target: string; temp: string; previous?: string; file: PlannedFile }> = [];
  const placed: typeof staged = [];
  try {
    for (const file of plan.files) {
      const target = join(root, file.path);
      mkdirSync(dirname(target), { recursive: true });
      const temp = `${target}${suffix}`;
      writeFileSync(temp, file.content, { flag: 'wx' });
      staged.push({
        target,
        temp,
        file,
        ...(file.replaces ? { previous: readFileSync(target, 'utf8') } : {}),
      });
    }
    for (const entry of staged) {
      if (!entry.file.replaces && existsSync(entry.target)) {
        throw new ScaffoldError(`${entry.file.path} appeared while writing: nothing was written`);
      }
      renameSync(entry.temp, entry.target);
      placed.push(entry);
    }
  } catch (error) {
    for (const entry of placed.reverse()) {
      if (entry.previous !== undefined) writeFileSync(entry.target, entry.previous);
      else rmSync(entry.target, { force: true });
    }
    for (const entry of staged) rmSync(entry.temp, { force: true });
    throw error;
  }
}
