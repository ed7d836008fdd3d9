import * as z from 'zod';
import type { StartPosition } from '../../contract/consumers';
import { catalog, type EventType } from '../../functions/events/catalog';

/** What the templates need to know about the consumer being scaffolded. */
export interface ConsumerSpec {
  /** kebab-case: the file name, the registry name, the prefix of every key it owns. */
  readonly name: string;
  /** PascalCase of the name: the construct id in the stack. */
  readonly id: string;
  readonly ordered: boolean;
  /** Catalog event types the consumer handles, in the order given. */
  readonly handles: ReadonlyArray<EventType>;
  readonly startPosition: StartPosition;
}

/** Widest line Biome leaves alone (biome.json `lineWidth`). */
const LINE_WIDTH = 110;

/** Fields of the latest version of a type, for the comment that tells what `event.data` holds. */
function fieldsOf(type: EventType): string {
  const { schema } = catalog.latest(type);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape).join(', ') : 'see the catalog';
}

const quoted = (types: ReadonlyArray<string>) => `[${types.map((t) => `'${t}'`).join(', ')}]`;

/** `functions/consumers/<name>.ts`: the consumer, built on the kit. */
export function consumerSource(spec: ConsumerSpec): string {
  const cases = spec.handles
    .map(
      (type) => `      case '${type}':
        // event.data: EventData<'${type}'> (${fieldsOf(type)}).
        store.update(key, { add: { ${counterOf(type)}: 1 }, set: { lastEventType: event.type } });
        return;`,
    )
    .join('\n');
  const delivery = spec.ordered
    ? "from its own FIFO queue; the kit applies each aggregate's events in sequence (event n only\n * after n - 1) and parks an event that arrives early until its predecessor is applied"
    : 'from the event bus through its own queue (no order between events)';
  // Ordered consumers name the types they handle (the others still take their place in the
  // sequence); unordered ones get their registry entry's event types.
  const handles = spec.ordered ? `\n  handles: ${quoted(spec.handles)},` : '';
  return `import { formatAggregateKey } from '../../contract/keys';
import { createConsumer, defineConsumer } from '../consumer-kit';

/**
 * ${spec.name}: say in one sentence what it does with the events.
 *
 * Gets ${spec.handles.join(', ')} ${delivery}. The kit validates each event against
 * the event catalog, upcasts it to the latest version of its type and applies it once. Writes to
 * \`store\` (this consumer's own items) commit with the kit's bookkeeping after \`handle\` returns:
 * all or nothing. Throw \`PermanentFailure\` for what retrying cannot fix: the event goes to the
 * consumer's dead-letter queue with the reason. Other errors are retried.
 */
export const consumer = defineConsumer('${spec.name}', {${handles}
  async handle(event, { store }) {
    const key = formatAggregateKey(event.aggregatetype, event.aggregateid);
    switch (event.type) {
${cases}
    }
  },
});

/** The Lambda handler: batch processing, idempotency${spec.ordered ? ', ordering' : ''} and DLQ routing around \`consumer\`. */
export const handler = createConsumer(consumer);
`;
}

/** `test/functions/consumers/<name>.test.ts`: a unit test on the catalog's fixtures. */
export function consumerTestSource(spec: ConsumerSpec): string {
  const handled = spec.handles
    .map(
      (type) => `
  it('handles ${type}', async () => {
    // Arrange: the ${type} fixture as the kit delivers it (validated, in the latest version)
    const event = typedFixture('${type}');
    const context = consumerContext(event);

    // Act
    await consumer.handle(event, context);

    // Assert: what handle staged for the kit to commit
    expect(context.store.staged()).not.toHaveLength(0);
  });
`,
    )
    .join('');
  return `import { describe, expect, it } from 'vitest';
import { consumer } from '../../../functions/consumers/${spec.name}';
import { consumerContext, typedFixture } from '../../contract/fixtures';

describe('${spec.name}', () => {${handled}});
`;
}

/** The registry entry of the consumer, indented like the marker line. */
export function registryEntry(spec: ConsumerSpec, indent: string): string {
  const fields = [
    `name: '${spec.name}'`,
    `kind: '${spec.ordered ? 'ordered' : 'unordered'}'`,
    spec.ordered ? `startPosition: '${spec.startPosition}'` : `eventTypes: ${quoted(spec.handles)}`,
  ];
  const oneLine = `${indent}{ ${fields.join(', ')} },`;
  if (oneLine.length <= LINE_WIDTH) return oneLine;
  // Longer than Biome allows: its own layout, so that `npm run lint` stays clean.
  return [`${indent}{`, ...fields.map((field) => `${indent}  ${field},`), `${indent}},`].join('\n');
}

/** The counter the template keeps per aggregate for an event type (`OrderPlaced` → `orderPlacedCount`). */
export function counterOf(type: string): string {
  return `${type.charAt(0).toLowerCase()}${type.slice(1)}Count`;
}
