import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { consumerNameProblem } from '../../contract/consumer-name';
import { CONSUMER_KINDS, CONSUMERS, findConsumer, type StartPosition } from '../../contract/consumers';
import { type EventType as CatalogEventType, catalog, type TypedEvent } from '../events/catalog';
import type { EventEnvelope } from '../shared/envelope';
import { ValidationError } from '../shared/errors';
import type { ConsumerStore } from './store';

/** What a consumer's `handle` (and `skip`) gets besides the event. */
export interface ConsumerContext {
  /** Logger with the event's id, type, aggregate, sequence, correlation id and traceparent as keys. */
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * The SQS record the event came in. For an event an ordered consumer had parked, the record
   * that released it (its predecessor's).
   */
  readonly record: SQSRecord;
  /**
   * The consumer's own items (its read model), in the app table under its own key prefix. Writes
   * are staged and committed in one transaction with the event's checkpoint (ordered) or effect
   * marker (unordered) after `handle` returns: the effect happens once, or not at all.
   */
  readonly store: ConsumerStore;
}

/** The two kinds of consumer (one vocabulary across the registry, the stack, the kit and the docs). */
export type ConsumerKind = (typeof CONSUMER_KINDS)[number];

/**
 * A consumer as the kit runs it: its registry entry plus its code. Built by
 * {@link defineConsumer} (for registered consumers) or {@link consumerDefinition}.
 */
export interface ConsumerDefinition {
  readonly name: string;
  readonly kind: ConsumerKind;
  /** Ordered consumers: where an aggregate without a checkpoint starts. */
  readonly startPosition: StartPosition;
  /**
   * Catalog event types delivered typed, validated and upcast to `handle`; other catalog types go
   * to `skip`. Undefined: every event goes to `handle` as a raw envelope (`data` unchecked).
   */
  readonly handles: ReadonlyArray<string> | undefined;
  readonly handle: (event: EventEnvelope, context: ConsumerContext) => Promise<void>;
  /**
   * Runs for a catalog event type the consumer does not handle. Ordered consumers need no skip:
   * the kit moves the aggregate's checkpoint past the event either way.
   */
  readonly skip: ((event: EventEnvelope, context: ConsumerContext) => Promise<void>) | undefined;
}

/** Spec of a consumer that reads payloads typed per event type. */
export interface TypedConsumerSpec<T extends CatalogEventType> {
  /** Applies one event; a `switch (event.type)` narrows `event.data`. Throw `PermanentFailure` for what retrying cannot fix. */
  handle(event: TypedEvent<T>, context: ConsumerContext): Promise<void>;
  /** Runs for catalog event types outside the handled ones, with the raw envelope. @default nothing */
  skip?(event: EventEnvelope, context: ConsumerContext): Promise<void>;
}

/** Spec of an ordered consumer that declares the catalog types it handles. */
export interface OrderedTypedConsumerSpec<T extends CatalogEventType> extends TypedConsumerSpec<T> {
  /** The catalog event types `handle` gets; every other event still takes its place in the aggregate's sequence. */
  readonly handles: ReadonlyArray<T>;
}

/** Spec of a payload-agnostic consumer (counters, archivers, forwarders): every event, raw. */
export interface RawConsumerSpec {
  handle(event: EventEnvelope, context: ConsumerContext): Promise<void>;
}

type Registry = (typeof CONSUMERS)[number];
type OrderedName = Extract<Registry, { readonly kind: 'ordered' }>['name'];
type TypedUnorderedEntry = Extract<Registry, { readonly kind: 'unordered'; readonly eventTypes: unknown }>;
type TypedUnorderedName = TypedUnorderedEntry['name'];
type RawUnorderedName = Exclude<
  Extract<Registry, { readonly kind: 'unordered' }>['name'],
  TypedUnorderedName
>;
type RegistryEventTypes<N extends TypedUnorderedName> = Extract<
  Extract<TypedUnorderedEntry, { readonly name: N }>['eventTypes'][number],
  CatalogEventType
>;

/**
 * Defines a registered consumer (contract/consumers.ts): its kind, start position and, for an
 * unordered consumer, its event types come from the registry, so they are declared once. Export
 * the result as `consumer` (the contract tests replay every catalog fixture against it) and pass
 * it to `createConsumer`.
 *
 * @throws ValidationError when the name is not registered or the spec does not fit its entry
 * @example
 * export const consumer = defineConsumer('order-emails', {
 *   async handle(event, { logger }) { logger.info('sending', { type: event.type }); },
 * });
 * export const handler = createConsumer(consumer);
 */
export function defineConsumer<const N extends OrderedName, const T extends CatalogEventType>(
  name: N,
  spec: OrderedTypedConsumerSpec<T>,
): ConsumerDefinition;
export function defineConsumer<const N extends OrderedName>(
  name: N,
  spec: RawConsumerSpec,
): ConsumerDefinition;
export function defineConsumer<const N extends TypedUnorderedName>(
  name: N,
  spec: TypedConsumerSpec<RegistryEventTypes<N>>,
): ConsumerDefinition;
export function defineConsumer<const N extends RawUnorderedName>(
  name: N,
  spec: RawConsumerSpec,
): ConsumerDefinition;
export function defineConsumer(name: string, spec: unknown): ConsumerDefinition {
  const entry = findConsumer(name);
  if (!entry) {
    throw new ValidationError(
      'name',
      `is not in the consumer registry, contract/consumers.ts (registered: ${CONSUMERS.map((c) => c.name).join(', ')}); add it with npm run new:consumer`,
      name,
    );
  }
  const given = (spec ?? {}) as Partial<Record<'handles' | 'handle' | 'skip', unknown>>;
  if (entry.kind === 'unordered' && given.handles !== undefined) {
    throw new ValidationError(
      `${name}.handles`,
      "must not be given for an unordered consumer: its event types are the registry's eventTypes",
      given.handles,
    );
  }
  return consumerDefinition({
    name,
    kind: entry.kind,
    startPosition: entry.kind === 'ordered' ? entry.startPosition : 'earliest',
    handles:
      entry.kind === 'ordered' ? (given.handles as ReadonlyArray<string> | undefined) : entry.eventTypes,
    handle: given.handle as ConsumerDefinition['handle'],
    skip: given.skip as ConsumerDefinition['skip'],
  });
}

/**
 * Builds and validates a consumer definition from plain parts; {@link defineConsumer} uses it
 * for registered consumers, tests for consumers of their own.
 *
 * @throws ValidationError naming the field that is wrong and what was given
 */
export function consumerDefinition(parts: {
  readonly name: unknown;
  readonly kind: unknown;
  readonly startPosition?: unknown;
  readonly handles?: unknown;
  readonly handle: unknown;
  readonly skip?: unknown;
}): ConsumerDefinition {
  const problem = consumerNameProblem(parts.name);
  if (problem)
    throw new ValidationError('definition.name', problem.replace(/^a consumer name /, ''), parts.name);
  const name = parts.name as string;
  if (!CONSUMER_KINDS.includes(parts.kind as ConsumerKind)) {
    throw new ValidationError(`${name}.kind`, `must be one of ${CONSUMER_KINDS.join(', ')}`, parts.kind);
  }
  const startPosition = parts.startPosition ?? 'earliest';
  if (startPosition !== 'earliest' && startPosition !== 'first-seen') {
    throw new ValidationError(`${name}.startPosition`, "must be 'earliest' or 'first-seen'", startPosition);
  }
  if (typeof parts.handle !== 'function') {
    throw new ValidationError(`${name}.handle`, 'must be a function', parts.handle);
  }
  if (parts.skip !== undefined && typeof parts.skip !== 'function') {
    throw new ValidationError(`${name}.skip`, 'must be a function', parts.skip);
  }
  return {
    name,
    kind: parts.kind as ConsumerKind,
    startPosition,
    handles: validHandles(name, parts.handles),
    handle: parts.handle as ConsumerDefinition['handle'],
    skip: parts.skip as ConsumerDefinition['skip'],
  };
}

function validHandles(name: string, handles: unknown): ReadonlyArray<string> | undefined {
  if (handles === undefined) return undefined;
  if (!Array.isArray(handles) || handles.length === 0) {
    throw new ValidationError(
      `${name}.handles`,
      'must be a non-empty array of event types (omit it to receive every event raw)',
      handles,
    );
  }
  for (const type of handles as ReadonlyArray<unknown>) {
    if (typeof type !== 'string' || !catalog.has(type)) {
      throw new ValidationError(
        `${name}.handles`,
        `must name event types of the catalog (known: ${catalog.types.join(', ')})`,
        type,
      );
    }
  }
  return [...handles] as string[];
}
