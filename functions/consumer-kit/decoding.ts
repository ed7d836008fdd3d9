import { catalog } from '../events/catalog';
import { type AnyEventDefinition, type EventCatalog, EventSchemaError } from '../events/event-catalog';
import type { EventEnvelope } from '../shared/envelope';
import { PermanentFailure } from '../shared/errors';
import type { ConsumerContext, ConsumerDefinition } from './definition';

/** What the kit does with one event: `handle` it (typed, validated, upcast) or `skip` it. */
export type Delivery =
  | { readonly kind: 'handle'; readonly event: EventEnvelope }
  | { readonly kind: 'skip'; readonly event: EventEnvelope };

/**
 * Decides, without side effects, what a consumer does with an envelope. A raw consumer handles
 * everything as is. For a typed consumer: a type not in the catalog fails (`UnknownEventType`);
 * a catalog type it does not handle is skipped; a handled type is validated against its
 * version's schema and upcast to the latest version (`UnsupportedSchemaVersion`,
 * `InvalidPayload`), and the envelope it gets carries the latest `schemaversion`.
 *
 * @throws PermanentFailure with the reason, for the consumer's DLQ (values are never in the message)
 */
export function decodeEvent(
  definition: ConsumerDefinition,
  envelope: EventEnvelope,
  eventCatalog: EventCatalog<AnyEventDefinition> = catalog,
): Delivery {
  if (definition.handles === undefined) return { kind: 'handle', event: envelope };
  if (!eventCatalog.has(envelope.type)) {
    throw new PermanentFailure(
      'UnknownEventType',
      `${definition.name} got ${envelope.type} v${envelope.schemaversion}, which is not in its event catalog (known: ${eventCatalog.types.join(', ')})`,
    );
  }
  if (!definition.handles.includes(envelope.type)) return { kind: 'skip', event: envelope };
  try {
    const { version, data } = eventCatalog.decode(envelope.type, envelope.schemaversion, envelope.data, {
      redactValues: true,
    });
    return { kind: 'handle', event: { ...envelope, schemaversion: version, data } };
  } catch (error) {
    if (!(error instanceof EventSchemaError)) throw error;
    throw new PermanentFailure(error.reason, `${definition.name} cannot read ${error.message}`, {
      cause: error,
    });
  }
}

/** Runs the consumer's `handle` or `skip` for a decided delivery; returns which ran. */
export async function runDelivery(
  definition: ConsumerDefinition,
  delivery: Delivery,
  context: ConsumerContext,
): Promise<'handled' | 'skipped'> {
  if (delivery.kind === 'handle') {
    await definition.handle(delivery.event, context);
    return 'handled';
  }
  await definition.skip?.(delivery.event, context);
  return 'skipped';
}

/**
 * Decodes and runs one event through a consumer as the kit does, but without idempotency,
 * ordering, batching or DLQ: for unit and contract tests.
 *
 * @throws PermanentFailure for what the kit would send to the DLQ; whatever `handle` throws
 */
export async function deliver(
  definition: ConsumerDefinition,
  envelope: EventEnvelope,
  context: ConsumerContext,
  eventCatalog: EventCatalog<AnyEventDefinition> = catalog,
): Promise<'handled' | 'skipped'> {
  return runDelivery(definition, decodeEvent(definition, envelope, eventCatalog), context);
}
