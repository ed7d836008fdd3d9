import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { registeredConsumers } from '../../contract/consumers';
import { consumerDefinition } from '../../functions/consumer-kit';
import { consumer as orderProjection } from '../../functions/consumers/order-projection';
import { catalog } from '../../functions/events/catalog';
import { defineEvent, EventCatalog } from '../../functions/events/event-catalog';
import {
  OrderCancelledV1,
  OrderConfirmedV1,
  OrderItemAddedV1,
  OrderPlacedV1,
} from '../../functions/events/order-events';
import { type DiscoveredConsumer, discoverConsumers, fixtureProblems, replayFixture } from './contract';
import { eventFixtures } from './fixtures';

/**
 * The contract between the event catalog and every registered consumer (contract/consumers.ts):
 * each fixture (one per event type and version) is replayed, after its aggregate's history,
 * through each consumer as the kit delivers it. A schema change that breaks a consumer fails
 * here with the consumer, the event type and the version in the message.
 */
const fixtures = eventFixtures();
const { consumers, problems: discoveryProblems } = await discoverConsumers();

describe('the event catalog contract', () => {
  it('finds the module of every registered consumer, each exporting its definition', () => {
    // Assert
    expect(discoveryProblems).toEqual([]);
    expect(consumers.map((c) => c.definition.name)).toEqual(registeredConsumers().map((c) => c.name));
  });

  it('has a fixture for every event type and version, each still valid for its version', () => {
    expect(
      fixtureProblems(
        catalog,
        fixtures,
        consumers.map((c) => c.definition),
      ),
    ).toEqual([]);
  });

  const cases = consumers.flatMap((consumer: DiscoveredConsumer) =>
    fixtures.map(
      (fixture) => [`${consumer.definition.name} takes ${fixture.fileName}`, consumer, fixture] as const,
    ),
  );
  it.each(cases)('%s', async (_name, consumer, fixture) => {
    // When the fixture is replayed after its aggregate's history
    const problem = await replayFixture(consumer.definition, fixture, fixtures, catalog);

    // Then the consumer took every event
    expect(problem).toBeUndefined();
  });
});

describe('the contract check itself', () => {
  // OrderPlaced v2 changed in place: currency became a number (a breaking change kept in v2).
  const brokenV2 = defineEvent({
    type: 'OrderPlaced',
    version: 2,
    description: 'broken on purpose',
    schema: OrderPlacedV1.schema.extend({ currency: z.number() }),
    upcast: { from: OrderPlacedV1, run: (v1) => ({ ...v1, currency: 978 }) },
  });
  const brokenCatalog = new EventCatalog([
    OrderPlacedV1,
    brokenV2,
    OrderItemAddedV1,
    OrderConfirmedV1,
    OrderCancelledV1,
  ]);
  const fixture = (fileName: string) => {
    const found = fixtures.find((f) => f.fileName === fileName);
    if (!found) throw new Error(`no fixture ${fileName}`);
    return found;
  };

  it('names the consumer, the event type and the version when a schema change breaks a consumer', async () => {
    // When the v2 fixture, written before the change, is replayed under the changed schema
    const problem = await replayFixture(
      orderProjection,
      fixture('OrderPlaced.v2.json'),
      fixtures,
      brokenCatalog,
    );

    // Then
    expect(problem).toMatch(
      /^consumer order-projection cannot take OrderPlaced v2 \(test\/contract\/fixtures\/OrderPlaced.v2.json\)/,
    );
    expect(problem).toMatch(
      /InvalidPayload: order-projection cannot read data.currency does not match OrderPlaced v2/,
    );
  });

  it('names the fixture and the consumers it would fail when a version no longer fits the catalog', () => {
    expect(fixtureProblems(brokenCatalog, fixtures, [orderProjection])).toEqual([
      expect.stringMatching(
        /^OrderPlaced v2 \(test\/contract\/fixtures\/OrderPlaced.v2.json\) no longer fits the catalog: data.currency does not match OrderPlaced v2.*would go to the DLQ of order-projection/,
      ),
    ]);
  });

  it('names the consumer, the event type and the version when a handler throws on a valid event', async () => {
    // Given a consumer that reads a field the schema does not promise
    const reader = consumerDefinition({
      name: 'broken-reader',
      kind: 'unordered',
      handles: ['OrderConfirmed'],
      async handle(event: { data: unknown }) {
        const { amount } = event.data as { amount: { cents: number } };
        if (amount.cents < 0) throw new Error('negative');
      },
    });

    // When
    const problem = await replayFixture(reader, fixture('OrderConfirmed.v1.json'), fixtures, catalog);

    // Then
    expect(problem).toMatch(/^consumer broken-reader cannot take OrderConfirmed v1 \(.*\): TypeError: /);
  });

  it('reports a fixture the catalog does not declare', () => {
    const extra = { ...fixture('OrderConfirmed.v1.json'), fileName: 'OrderConfirmed.v2.json', version: 2 };
    const renamed = { ...extra, path: 'test/contract/fixtures/OrderConfirmed.v2.json' };
    renamed.envelope = { ...renamed.envelope, schemaversion: 2 };
    expect(fixtureProblems(catalog, [...fixtures, renamed], [])).toEqual([
      expect.stringMatching(
        /OrderConfirmed.v2.json is OrderConfirmed v2, which the catalog does not declare/,
      ),
    ]);
  });
});
