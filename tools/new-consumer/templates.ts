import * as z from 'zod';
import { catalog, type EventType } from '../../functions/events/catalog';

/** What the templates need to know about the consumer being scaffolded. */
export interface ConsumerSpec {
  /** kebab-case: the file name, the kit's consumer name and the idempotency key prefix. */
  readonly name: string;
  /** PascalCase of the name: the construct id in the stack. */
  readonly id: string;
  readonly ordered: boolean;
  /** Catalog event types the consumer handles, in the order given. */
  readonly handles: ReadonlyArray<EventType>;
}

/** Widest line Biome leaves alone (biome.json `lineWidth`). */
const LINE_WIDTH = 110;

/** Fields of the latest version of a type, for the comment that tells what `event.data` holds. */
function fieldsOf(type: EventType): string {
  const { schema } = catalog.latest(type);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape).join(', ') : 'see the catalog';
}

/** `functions/consumers/<name>.ts`: the consumer, built on the kit. */
export function consumerSource(spec: ConsumerSpec): string {
  const handles = `[${spec.handles.map((t) => `'${t}'`).join(', ')}]`;
  const cases = spec.handles
    .map(
      (type) => `      case '${type}':
        // event.data: EventData<'${type}'> (${fieldsOf(type)}).
        logger.info('${type} handled');
        return;`,
    )
    .join('\n');
  const delivery = spec.ordered
    ? `from its own FIFO queue, in order per aggregate`
    : `from the event bus through its own queue (no order between events)`;
  const skip = spec.ordered
    ? `
  // The FIFO queue carries every event of every aggregate: catalog types not handled above come
  // here. A consumer that checks per-aggregate sequences records the sequence here (see
  // order-projection.ts), or the next event would look like a gap.
  async skip(_event, { logger }) {
    logger.debug('event not handled by this consumer; skipped');
  },`
    : '';
  return `import { createConsumer, defineConsumer } from './kit';

/**
 * ${spec.name}: say in one sentence what it does with the events.
 *
 * Gets ${spec.handles.join(', ')} ${delivery}. The kit validates each event
 * against the event catalog, upcasts it to the latest version of its type and applies it once
 * (idempotency on the event id). Throw \`PermanentFailure\` for what retrying cannot fix: the
 * event goes to the consumer's dead-letter queue with the reason. Other errors are retried.
 */
export const consumer = defineConsumer({
  name: '${spec.name}',
  ordered: ${spec.ordered},
  handles: ${handles},
  async handle(event, { logger }) {
    switch (event.type) {
${cases}
    }
  },${skip}
});

/** The Lambda handler: batch processing, idempotency and DLQ routing around \`consumer\`. */
export const handler = createConsumer(consumer);
`;
}

/** `test/functions/consumers/<name>.test.ts`: a unit test on the catalog's fixtures. */
export function consumerTestSource(spec: ConsumerSpec): string {
  const handled = spec.handles
    .map(
      (type) => `
  it('handles ${type}', async () => {
    // Given the ${type} fixture as the kit delivers it (validated, in the latest version)
    const event = typedFixture('${type}');

    // When / Then
    await expect(consumer.handle(event, consumerContext(event))).resolves.toBeUndefined();
  });
`,
    )
    .join('');
  const unhandled = catalog.types.find((type) => !spec.handles.includes(type)) ?? spec.handles[0];
  const skipped = spec.ordered
    ? `
  it('passes over an event it does not handle', async () => {
    // Given an event as it arrives on the FIFO queue
    const event = eventFixture('${unhandled}');

    // When / Then
    await expect(consumer.skip(event, consumerContext(event))).resolves.toBeUndefined();
  });
`
    : '';
  const imports = spec.ordered
    ? 'consumerContext, eventFixture, typedFixture'
    : 'consumerContext, typedFixture';
  return `import { describe, expect, it } from 'vitest';
import { consumer } from '../../../functions/consumers/${spec.name}';
import { ${imports} } from '../../contract/fixtures';

describe('${spec.name}', () => {${handled}${skipped}});
`;
}

/** The statement that registers the consumer in the stack, indented like the marker. */
export function registrationStatement(spec: ConsumerSpec, indent: string): string {
  const method = spec.ordered ? 'addOrderedConsumer' : 'addEventConsumer';
  const entry = `entry: 'consumers/${spec.name}'`;
  const detailTypes = spec.ordered
    ? undefined
    : `detailTypes: [${spec.handles.map((t) => `'${t}'`).join(', ')}]`;
  const props = [entry, detailTypes].filter((p): p is string => p !== undefined);
  const oneLine = `${indent}this.${method}('${spec.id}', { ${props.join(', ')} });`;
  if (oneLine.length <= LINE_WIDTH) return oneLine;
  // Longer than Biome allows: its own layout, so that \`npm run lint\` stays clean.
  return [
    `${indent}this.${method}('${spec.id}', {`,
    ...props.map((p) => `${indent}  ${p},`),
    `${indent}});`,
  ].join('\n');
}
