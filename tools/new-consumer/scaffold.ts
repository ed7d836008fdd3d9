import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { catalog, type EventType } from '../../functions/events/catalog';
import { type ConsumerSpec, consumerSource, consumerTestSource, registrationStatement } from './templates';

/** The comment in the stack's constructor above which the consumer is registered. */
export const STACK_MARKER = '// new:consumer inserts above this line';
/** The stack file, from the project root. */
export const STACK_FILE = 'lib/outbox-pipeline-stack.ts';

const NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

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
}

/** A file to create or replace, from the project root. */
export interface PlannedFile {
  readonly path: string;
  readonly content: string;
  /** Whether the file exists and is replaced (the stack) or is new. */
  readonly replaces: boolean;
}

/** Everything the tool will write, checked before anything is. */
export interface ScaffoldPlan {
  readonly spec: ConsumerSpec;
  readonly files: ReadonlyArray<PlannedFile>;
  /** The statement inserted in the stack. */
  readonly registration: string;
}

/** `order-emails` → `OrderEmails`. */
export function constructId(name: string): string {
  return name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/**
 * Checks a request against the project under `root` and plans every write: the consumer, its
 * test and the stack with the registration inserted above {@link STACK_MARKER}.
 *
 * @throws ScaffoldError for a bad name, unknown event types, an existing consumer or a stack
 *   without the marker
 */
export function planConsumer(request: ScaffoldRequest, root: string): ScaffoldPlan {
  const { name } = request;
  if (!NAME_PATTERN.test(name) || name.length < 2 || name.length > 63) {
    throw new ScaffoldError(
      `consumer name must be kebab-case, 2 to 63 characters: lowercase words of letters and digits joined by dashes, starting with a letter, such as order-emails (given ${JSON.stringify(name)})`,
    );
  }
  const handles = eventTypes(request);
  const spec: ConsumerSpec = { name, id: constructId(name), ordered: request.ordered, handles };

  const consumerPath = `functions/consumers/${name}.ts`;
  const testPath = `test/functions/consumers/${name}.test.ts`;
  for (const path of [consumerPath, testPath]) {
    if (existsSync(join(root, path))) {
      throw new ScaffoldError(`${path} already exists: choose another name (nothing was written)`);
    }
  }

  const stackPath = join(root, STACK_FILE);
  if (!existsSync(stackPath)) throw new ScaffoldError(`${STACK_FILE} not found under ${root}`);
  const stack = readFileSync(stackPath, 'utf8');
  const lines = stack.split('\n');
  const markers = lines.flatMap((line, index) => (line.trim() === STACK_MARKER ? [index] : []));
  if (markers.length !== 1) {
    throw new ScaffoldError(
      markers.length === 0
        ? `${STACK_FILE} has no "${STACK_MARKER}" marker: add that comment on its own line in the stack's constructor, after the example consumers, then run this again (nothing was written)`
        : `${STACK_FILE} has the "${STACK_MARKER}" marker ${markers.length} times; keep one (nothing was written)`,
    );
  }
  if (stack.includes(`'${spec.id}'`)) {
    throw new ScaffoldError(
      `${STACK_FILE} already uses the id '${spec.id}': choose another name (nothing was written)`,
    );
  }
  const markerIndex = markers[0] as number;
  const indent = /^\s*/.exec(lines[markerIndex] ?? '')?.[0] ?? '';
  const registration = registrationStatement(spec, indent);
  lines.splice(markerIndex, 0, registration);

  return {
    spec,
    registration,
    files: [
      { path: consumerPath, content: consumerSource(spec), replaces: false },
      { path: testPath, content: consumerTestSource(spec), replaces: false },
      { path: STACK_FILE, content: lines.join('\n'), replaces: true },
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
