import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { type ConsumerDefinition, deliver } from '../../functions/consumers/kit';
import type { AnyEventDefinition, EventCatalog } from '../../functions/events/event-catalog';
import { ENV } from '../../functions/shared/env-names';
import { consumerContext, type EventFixture } from './fixtures';

const CONSUMERS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../functions/consumers');

/** A consumer module found in `functions/consumers/`. */
export interface DiscoveredConsumer {
  /** Path from the project root. */
  readonly path: string;
  readonly definition: ConsumerDefinition;
}

/**
 * Imports every module of `functions/consumers/` and returns the consumers they export as
 * `consumer`. A module that exports a Lambda `handler` but no `consumer` is reported as a
 * problem: the contract could not replay events against it.
 */
export async function discoverConsumers(): Promise<{ consumers: DiscoveredConsumer[]; problems: string[] }> {
  const consumers: DiscoveredConsumer[] = [];
  const problems: string[] = [];
  for (const file of readdirSync(CONSUMERS_DIR)
    .filter((name) => name.endsWith('.ts'))
    .sort()) {
    const path = `functions/consumers/${file}`;
    const module = (await import(pathToFileURL(join(CONSUMERS_DIR, file)).href)) as Record<string, unknown>;
    if (module.consumer && typeof module.consumer === 'object') {
      consumers.push({ path, definition: module.consumer as ConsumerDefinition });
    } else if (module.handler) {
      problems.push(
        `${path} exports a handler but no \`consumer\` definition: export it (see the kit) so that contract tests can replay events against it`,
      );
    }
  }
  return { consumers, problems };
}

/** The environment the stack gives consumer functions, with placeholder values. */
export const CONSUMER_TEST_ENV: Readonly<Record<string, string>> = {
  [ENV.tableName]: 'contract-table',
  [ENV.idempotencyTableName]: 'contract-idempotency',
  [ENV.idempotencyTtlSeconds]: String(7 * 24 * 3600),
  [ENV.deadLetterQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/contract-dlq',
  [ENV.eventBusName]: 'contract-bus',
};

/**
 * Replaces DynamoDB and SQS for every client instance: a table that remembers the items put
 * and returns them to GetItem (what a read-your-writes consumer needs), and queues that accept
 * every message. Other services are not faked: a consumer calling them fails the contract.
 */
export function fakeAws() {
  const items = new Map<string, Record<string, AttributeValue>>();
  const keyOf = (table: string | undefined, key: Record<string, AttributeValue> = {}) =>
    `${table}|${JSON.stringify(
      Object.entries(key)
        .filter(([name]) => name === 'pk' || name === 'sk' || name === 'id')
        .sort(),
    )}`;
  const dynamodb = mockClient(DynamoDBClient);
  const sqs = mockClient(SQSClient);
  const install = () => {
    items.clear();
    dynamodb.reset();
    sqs.reset();
    dynamodb
      .on(GetItemCommand)
      .callsFake((input) => ({ Item: items.get(keyOf(input.TableName, input.Key)) }));
    dynamodb.on(PutItemCommand).callsFake((input) => {
      items.set(keyOf(input.TableName, input.Item), input.Item ?? {});
      return {};
    });
    dynamodb.on(UpdateItemCommand).resolves({});
    dynamodb.on(TransactWriteItemsCommand).resolves({});
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  };
  install();
  return {
    /** Empties the table and re-installs the fakes (before each replay). */
    reset: install,
    restore() {
      dynamodb.restore();
      sqs.restore();
    },
  };
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
  // A fresh aggregate per replay, so that no replay sees another's state.
  const aggregateId = `contract-${++replays}`;
  for (const [index, step] of [...history, fixture].entries()) {
    const envelope = {
      ...step.envelope,
      aggregateid: aggregateId,
      subject: aggregateId,
      sequence: index + 1,
    };
    try {
      await deliver(consumer, envelope, consumerContext(envelope), eventCatalog);
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
      const readers = consumers
        .filter((c) => c.handles !== undefined && (c.handles as ReadonlyArray<string>).includes(fixture.type))
        .map((c) => c.name);
      problems.push(
        `${fixture.type} v${fixture.version} (${fixture.path}) no longer fits the catalog: ${(error as Error).message}; events of that version already written would go to the DLQ of ${
          readers.join(', ') || 'every consumer that will read it'
        }. Make the change additive, or declare v${(eventCatalog.versions(fixture.type).at(-1) ?? 0) + 1} with an upcast (docs/events.md)`,
      );
    }
  }
  return problems;
}
