import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { consumerEntry, registeredConsumers } from '../../contract/consumers';
import { type ConsumerDefinition, deliver } from '../../functions/consumer-kit';
import type { AnyEventDefinition, EventCatalog } from '../../functions/events/event-catalog';
import { MemoryStore } from '../support/memory-store';
import { consumerContext, type EventFixture } from './fixtures';

const FUNCTIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../functions');

/** A registered consumer's module. */
export interface DiscoveredConsumer {
  /** Path from the project root. */
  readonly path: string;
  readonly definition: ConsumerDefinition;
}

/**
 * Imports the module of every consumer of the registry (contract/consumers.ts) and returns the
 * consumer each exports as `consumer`. A registered consumer without its module or without that
 * export, and a module in functions/consumers/ that exports a Lambda `handler` but is not
 * registered, are reported as problems.
 */
export async function discoverConsumers(): Promise<{ consumers: DiscoveredConsumer[]; problems: string[] }> {
  const consumers: DiscoveredConsumer[] = [];
  const problems: string[] = [];
  const registered = registeredConsumers();
  for (const declaration of registered) {
    const path = `functions/${consumerEntry(declaration.name)}.ts`;
    const file = join(FUNCTIONS_DIR, `${consumerEntry(declaration.name)}.ts`);
    if (!existsSync(file)) {
      problems.push(`${declaration.name} is registered but ${path} does not exist`);
      continue;
    }
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const definition = module.consumer as ConsumerDefinition | undefined;
    if (!definition || typeof definition !== 'object') {
      problems.push(
        `${path} exports no \`consumer\` definition: export it (see the kit) so that contract tests can replay events against it`,
      );
      continue;
    }
    if (definition.name !== declaration.name || definition.kind !== declaration.kind) {
      problems.push(
        `${path} defines ${definition.name} (${definition.kind}) but is registered as ${declaration.name} (${declaration.kind})`,
      );
    }
    consumers.push({ path, definition });
  }
  for (const file of readdirSync(join(FUNCTIONS_DIR, 'consumers')).filter((name) => name.endsWith('.ts'))) {
    const module = (await import(pathToFileURL(join(FUNCTIONS_DIR, 'consumers', file)).href)) as Record<
      string,
      unknown
    >;
    const name = file.replace(/\.ts$/, '');
    if (module.handler && !registered.some((declaration) => declaration.name === name)) {
      problems.push(
        `functions/consumers/${file} exports a handler but is not in contract/consumers.ts: register it (npm run new:consumer does)`,
      );
    }
  }
  return { consumers, problems };
}

/**
 * The events replayed before a fixture: the aggregate's history up to it, made of the fixtures
 * of the same aggregate type at sequences 1..n-1, each in its latest version.
 */
export function historyBefore(fixture: EventFixture, fixtures: ReadonlyArray<EventFixture>): EventFixture[] {
  const { aggregatetype, sequence } = fixture.envelope;
  const history: EventFixture[] = [];
  for (let position = 1; position < sequence; position++) {
    const candidates = fixtures.filter(
      (f) => f.envelope.aggregatetype === aggregatetype && f.envelope.sequence === position,
    );
    const types = [...new Set(candidates.map((c) => c.type))];
    if (types.length !== 1) {
      throw new Error(
        `the ${aggregatetype} fixtures must hold exactly one event type at sequence ${position} (found ${
          types.join(', ') || 'none'
        }): the fixtures of an aggregate type tell one history, in which ${fixture.path} is at sequence ${sequence}`,
      );
    }
    const latest = candidates.reduce((a, b) => (b.version > a.version ? b : a));
    history.push(latest);
  }
  return history;
}

let replays = 0;

/**
 * Replays one fixture, after its aggregate's history, through a consumer as the kit would
 * deliver it (validation, upcasting, `handle` or `skip`), on the fake table of {@link fakeAws}.
 *
 * @returns undefined if the consumer took every event, else what went wrong, naming the
 *   consumer, the event type and version, and the fixture
 */
export async function replayFixture(
  consumer: ConsumerDefinition,
  fixture: EventFixture,
  fixtures: ReadonlyArray<EventFixture>,
  eventCatalog: EventCatalog<AnyEventDefinition>,
): Promise<string | undefined> {
  let history: EventFixture[];
  try {
    history = historyBefore(fixture, fixtures);
  } catch (error) {
    return (error as Error).message;
  }
  // A fresh aggregate and store per replay, so that no replay sees another's state.
  const aggregateId = `contract-${++replays}`;
  const store = new MemoryStore();
  for (const [index, step] of [...history, fixture].entries()) {
    const envelope = {
      ...step.envelope,
      aggregateid: aggregateId,
      subject: aggregateId,
      sequence: index + 1,
    };
    try {
      await deliver(consumer, envelope, consumerContext(envelope, store), eventCatalog);
    } catch (error) {
      const where =
        step === fixture
          ? `${step.type} v${step.version} (${step.path})`
          : `${step.type} v${step.version}, replayed before ${fixture.type} v${fixture.version} (${step.path})`;
      return `consumer ${consumer.name} cannot take ${where}: ${(error as Error).name}: ${(error as Error).message}`;
    }
  }
  return undefined;
}

/**
 * Checks the fixtures against the catalog: one per type and version, named after what they
 * hold, and each still valid for its version (an event of that version may be in flight or
 * replayed from the archive). Names the consumers a broken version would fail.
 */
export function fixtureProblems(
  eventCatalog: EventCatalog<AnyEventDefinition>,
  fixtures: ReadonlyArray<EventFixture>,
  consumers: ReadonlyArray<ConsumerDefinition>,
): string[] {
  const problems: string[] = [];
  for (const definition of eventCatalog.definitions) {
    if (!fixtures.some((f) => f.type === definition.type && f.version === definition.version)) {
      problems.push(
        `no fixture for ${definition.type} v${definition.version}: add test/contract/fixtures/${definition.type}.v${definition.version}.json (an envelope of that version, as a producer writes it)`,
      );
    }
  }
  for (const fixture of fixtures) {
    if (fixture.envelope.type !== fixture.type || fixture.envelope.schemaversion !== fixture.version) {
      problems.push(
        `${fixture.path} holds ${fixture.envelope.type} v${fixture.envelope.schemaversion}, not what its name says`,
      );
      continue;
    }
    if (!eventCatalog.find(fixture.type, fixture.version)) {
      problems.push(
        `${fixture.path} is ${fixture.type} v${fixture.version}, which the catalog does not declare: keep every version while events of it can be in flight or replayed (docs/events.md)`,
      );
      continue;
    }
    try {
      eventCatalog.decode(fixture.type, fixture.version, fixture.envelope.data);
    } catch (error) {
      // Raw consumers do not validate payloads; typed ones that handle the type would refuse it.
      const readers = consumers.filter((c) => c.handles?.includes(fixture.type)).map((c) => c.name);
      problems.push(
        `${fixture.type} v${fixture.version} (${fixture.path}) no longer fits the catalog: ${(error as Error).message}; events of that version already written would go to the DLQ of ${
          readers.join(', ') || 'every consumer that will read it'
        }. Make the change additive, or declare v${(eventCatalog.versions(fixture.type).at(-1) ?? 0) + 1} with an upcast (docs/events.md)`,
      );
    }
  }
  return problems;
}
