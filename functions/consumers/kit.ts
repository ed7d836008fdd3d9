import {
  EventType as BatchEventType,
  BatchProcessor,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type EventType as CatalogEventType, catalog, type TypedEvent } from '../events/catalog';
import { type AnyEventDefinition, type EventCatalog, EventSchemaError } from '../events/event-catalog';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { type EventEnvelope, parseEnvelope } from '../shared/envelope';
import { PermanentFailure, ValidationError } from '../shared/errors';

/** What a consumer's `handle` (and `skip`) gets besides the event. */
export interface ConsumerContext {
  /** Logger with the event's id, type, aggregate and correlation id as persistent keys. */
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The SQS record the event came in (for attributes such as ApproximateReceiveCount). */
  readonly record: SQSRecord;
}

interface TypedConsumerBase<T extends CatalogEventType> {
  /** Stable name: the idempotency key prefix and the metrics dimension. Lowercase, digits and dashes. */
  readonly name: string;
  /**
   * The catalog event types this consumer handles. The kit validates each event's `data`
   * against its version's schema and upcasts it to the latest version before `handle` runs;
   * a type not in the catalog goes to the DLQ (`UnknownEventType`), a version the catalog
   * does not have (`UnsupportedSchemaVersion`) and data that does not match (`InvalidPayload`) too.
   */
  readonly handles: ReadonlyArray<T>;
  /**
   * Applies one event, typed by `event.type` (a `switch` narrows `event.data`). Throw
   * `PermanentFailure` for what retrying cannot fix: the kit sends the message to the
   * consumer's DLQ with the reason. Any other error is retried.
   */
  handle(event: TypedEvent<T>, context: ConsumerContext): Promise<void>;
}

/**
 * An ordered consumer of typed events. Its FIFO queue carries every event of every aggregate,
 * so it must say what happens to catalog types it does not handle: `skip` runs for them (with
 * the raw envelope, payload unchecked), once per event like `handle`. A consumer that checks
 * per-aggregate sequences records the sequence there, or its next event would look like a gap.
 */
export interface OrderedTypedConsumerDefinition<T extends CatalogEventType> extends TypedConsumerBase<T> {
  /** FIFO queue, SqsFifoPartialProcessorAsync: a failure holds back only its own aggregate's later events. */
  readonly ordered: true;
  skip(event: EventEnvelope, context: ConsumerContext): Promise<void>;
}

/**
 * An unordered consumer of typed events (its EventBridge rule selects what it gets). Catalog
 * types it does not handle are acknowledged (metric `EventsSkipped`), through `skip` if given.
 */
export interface UnorderedTypedConsumerDefinition<T extends CatalogEventType> extends TypedConsumerBase<T> {
  /** Standard queue, records in parallel. */
  readonly ordered: false;
  skip?(event: EventEnvelope, context: ConsumerContext): Promise<void>;
}

/** A consumer that declares the catalog event types it handles and gets their data typed and validated. */
export type TypedConsumerDefinition<T extends CatalogEventType = CatalogEventType> =
  | OrderedTypedConsumerDefinition<T>
  | UnorderedTypedConsumerDefinition<T>;

/**
 * A payload-agnostic consumer (counters, archivers, forwarders): it gets every event as an
 * envelope whatever its type, with `data` unchecked, and no catalog is consulted.
 */
export interface RawConsumerDefinition {
  /** Stable name: the idempotency key prefix and the metrics dimension. Lowercase, digits and dashes. */
  readonly name: string;
  /**
   * Ordered consumers read a FIFO queue and are processed with SqsFifoPartialProcessorAsync:
   * within a message group, a failure stops that group (later messages are returned
   * to the queue) while other groups go on. Unordered ones run records in parallel.
   */
  readonly ordered: boolean;
  readonly handles?: undefined;
  /**
   * Applies one event. Throw `PermanentFailure` for what retrying cannot fix: the kit sends
   * the message to the consumer's DLQ with the reason. Any other error is retried.
   */
  handle(event: EventEnvelope, context: ConsumerContext): Promise<void>;
}

/** Either kind of consumer. */
export type ConsumerDefinition = TypedConsumerDefinition | RawConsumerDefinition;

/** Clients and settings a consumer runs with; read from the environment by default. */
export interface ConsumerRuntime {
  readonly idempotencyTableName: string;
  readonly idempotencyTtlSeconds: number;
  readonly deadLetterQueueUrl: string;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly tracer?: Tracer;
}

/** Metrics every consumer emits. */
export type ConsumerMetric =
  | 'EventsProcessed'
  | 'EventsSkipped'
  | 'DuplicatesSuppressed'
  | 'EventsDeadLettered'
  | 'EventsFailed';

const NAME_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;

/** Reads the runtime from the environment the stack gives consumer functions. */
export function runtimeFromEnv(env: NodeJS.ProcessEnv = process.env): ConsumerRuntime {
  return {
    idempotencyTableName: requireEnv(ENV.idempotencyTableName, env),
    idempotencyTtlSeconds: requirePositiveIntEnv(ENV.idempotencyTtlSeconds, env),
    deadLetterQueueUrl: requireEnv(ENV.deadLetterQueueUrl, env),
    dynamodb: new DynamoDBClient({}),
    sqs: new SQSClient({}),
  };
}

/**
 * Reads settings on first use and keeps them. Consumer modules read their environment through
 * it, so that tests and contract tests can import them without the Lambda environment; a missing
 * variable still fails the first invocation with `"<NAME> environment variable is not set"`.
 *
 * @example
 * const settings = readOnce(() => ({ tableName: requireEnv(ENV.tableName) }));
 * // in the handler: settings().tableName
 */
export function readOnce<T>(read: () => T): () => T {
  let value: { readonly current: T } | undefined;
  return () => {
    value ??= { current: read() };
    return value.current;
  };
}

/**
 * The envelope inside an SQS message body: the envelope itself (FIFO queue fed by
 * the relay) or an EventBridge event whose `detail` is the envelope (rule → queue).
 */
export function envelopeFromBody(body: string): EventEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new PermanentFailure('MalformedEvent', `message body is not JSON (${(error as Error).message})`);
  }
  const candidate =
    typeof parsed === 'object' && parsed !== null && 'detail-type' in parsed && 'detail' in parsed
      ? (parsed as { detail: unknown }).detail
      : parsed;
  try {
    return parseEnvelope(candidate);
  } catch (error) {
    throw new PermanentFailure('MalformedEvent', (error as Error).message, { cause: error });
  }
}

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
 * @throws PermanentFailure with the reason, for the consumer's DLQ
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
  if (!(definition.handles as ReadonlyArray<string>).includes(envelope.type)) {
    return { kind: 'skip', event: envelope };
  }
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
    // decodeEvent validated the data against the type it declares: the cast is the check's result.
    await (definition.handle as (event: EventEnvelope, context: ConsumerContext) => Promise<void>)(
      delivery.event,
      context,
    );
    return 'handled';
  }
  if (definition.handles !== undefined && definition.skip) await definition.skip(delivery.event, context);
  return 'skipped';
}

/**
 * Decodes and runs one event through a consumer, as the kit does for each SQS record but
 * without idempotency, batching or DLQ: for unit and contract tests.
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

/**
 * Types a consumer definition: infers the handled event types from `handles`, so that `handle`
 * gets `event.data` typed per `event.type`. Export the result as `consumer` (contract tests
 * replay every catalog fixture against it) and pass it to {@link createConsumer}.
 *
 * @example
 * export const consumer = defineConsumer({
 *   name: 'order-emails', ordered: false, handles: ['OrderPlaced'],
 *   async handle(event, { logger }) { logger.info('sending', { currency: event.data.currency }); },
 * });
 * export const handler = createConsumer(consumer);
 */
export function defineConsumer<const T extends CatalogEventType>(
  definition: OrderedTypedConsumerDefinition<T>,
): OrderedTypedConsumerDefinition<T>;
export function defineConsumer<const T extends CatalogEventType>(
  definition: UnorderedTypedConsumerDefinition<T>,
): UnorderedTypedConsumerDefinition<T>;
export function defineConsumer(definition: TypedConsumerDefinition): TypedConsumerDefinition {
  validateDefinition(definition);
  return definition;
}

/**
 * Builds a consumer Lambda handler: middy + Powertools logger, metrics and tracer,
 * Powertools batch processing with partial batch responses, Powertools
 * idempotency on DynamoDB keyed on the event id, typed events for consumers that
 * declare `handles`, and DLQ routing of permanent failures with their reason.
 *
 * The runtime (idempotency table, DLQ, clients) is read from the environment on the first
 * invocation unless given, so a consumer module can be imported without AWS settings.
 *
 * @example
 * export const handler = createConsumer(defineConsumer({
 *   name: 'order-emails', ordered: false, handles: ['OrderPlaced', 'OrderCancelled'],
 *   async handle(event, { logger }) { logger.info('sending'); },
 * }));
 */
export function createConsumer<const T extends CatalogEventType>(
  definition: TypedConsumerDefinition<T>,
  runtime?: ConsumerRuntime,
): middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context>;
export function createConsumer(
  definition: RawConsumerDefinition,
  runtime?: ConsumerRuntime,
): middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context>;
export function createConsumer(
  definition: ConsumerDefinition,
  runtime?: ConsumerRuntime,
): middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context> {
  validateDefinition(definition);
  const serviceName = definition.name;
  const logger = runtime?.logger ?? new Logger({ serviceName });
  const metrics = runtime?.metrics ?? new Metrics({ serviceName });
  const tracer = runtime?.tracer ?? new Tracer({ serviceName });

  const wiring = readOnce(() => {
    const resolved = runtime ?? runtimeFromEnv();
    return {
      runtime: resolved,
      idempotencyConfig: new IdempotencyConfig({
        eventKeyJmesPath: 'id',
        // The default hour is shorter than any replay window: keep records at least as long as outbox items live.
        expiresAfterSeconds: resolved.idempotencyTtlSeconds,
      }),
      persistenceStore: new DynamoDBPersistenceLayer({
        tableName: resolved.idempotencyTableName,
        awsSdkV3Client: resolved.dynamodb,
      }),
    };
  });

  const processRecord = async (record: SQSRecord): Promise<void> => {
    const { runtime: resolved, idempotencyConfig, persistenceStore } = wiring();
    const recordLogger = logger.createChild();
    try {
      const envelope = envelopeFromBody(record.body);
      recordLogger.appendPersistentKeys({
        correlation_id: envelope.correlationid,
        eventId: envelope.id,
        eventType: envelope.type,
        schemaVersion: envelope.schemaversion,
        aggregate: `${envelope.aggregatetype}#${envelope.aggregateid}`,
        sequence: envelope.sequence,
      });
      const delivery = decodeEvent(definition, envelope);
      let outcome: 'handled' | 'skipped' | undefined;
      const applyOnce = makeIdempotent(
        async (event: EventEnvelope) => {
          outcome = await runDelivery(definition, delivery, { logger: recordLogger, metrics, record });
          return { eventId: event.id };
        },
        { persistenceStore, config: idempotencyConfig, keyPrefix: definition.name },
      );
      await applyOnce(envelope);
      if (outcome === 'handled') {
        metrics.addMetric('EventsProcessed', MetricUnit.Count, 1);
        metrics.addMetric('EndToEndLatency', MetricUnit.Milliseconds, Date.now() - Date.parse(envelope.time));
      } else if (outcome === 'skipped') {
        metrics.addMetric('EventsSkipped', MetricUnit.Count, 1);
        recordLogger.debug('event type not handled by this consumer; skipped');
      } else {
        metrics.addMetric('DuplicatesSuppressed', MetricUnit.Count, 1);
        recordLogger.info('duplicate delivery suppressed by idempotency');
      }
    } catch (error) {
      if (!(error instanceof PermanentFailure)) {
        metrics.addMetric('EventsFailed', MetricUnit.Count, 1);
        recordLogger.warn('event failed; it will be retried', { error: (error as Error).message });
        throw error;
      }
      await deadLetter(resolved, definition.name, record, error);
      metrics.addMetric('EventsDeadLettered', MetricUnit.Count, 1);
      recordLogger.error('event sent to the dead-letter queue', {
        reason: error.reason,
        error: error.message,
      });
    }
  };

  const processor = new BatchProcessor(BatchEventType.SQS);

  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    wiring().idempotencyConfig.registerLambdaContext(context);
    if (definition.ordered) {
      // Records of one message group run in order through SqsFifoPartialProcessorAsync
      // (skipGroupOnError: a failure holds back only that group's later messages); distinct
      // groups, i.e. distinct aggregates, have no order between them and run concurrently.
      const responses = await Promise.all(
        groupByMessageGroup(event.Records).map((records) =>
          processPartialResponse({ Records: records }, processRecord, new SqsFifoPartialProcessorAsync(), {
            context,
            skipGroupOnError: true,
          }),
        ),
      );
      return { batchItemFailures: responses.flatMap((response) => response.batchItemFailures) };
    }
    return processPartialResponse(event, processRecord, processor as BatchProcessor, { context });
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

/** Splits a FIFO batch by MessageGroupId, keeping each group's records in their batch order. */
export function groupByMessageGroup(records: ReadonlyArray<SQSRecord>): SQSRecord[][] {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? '';
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  return [...groups.values()];
}

/** Sends a message to the consumer's DLQ with the failure reason; FIFO DLQs keep the message's group. */
async function deadLetter(
  runtime: ConsumerRuntime,
  consumer: string,
  record: SQSRecord,
  failure: PermanentFailure,
): Promise<void> {
  const fifo = runtime.deadLetterQueueUrl.endsWith('.fifo');
  await runtime.sqs.send(
    new SendMessageCommand({
      QueueUrl: runtime.deadLetterQueueUrl,
      MessageBody: record.body,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: failure.reason },
        error: { DataType: 'String', StringValue: failure.message.slice(0, 1024) },
        consumer: { DataType: 'String', StringValue: consumer },
        sourceMessageId: { DataType: 'String', StringValue: record.messageId },
      },
      ...(fifo
        ? {
            MessageGroupId: record.attributes.MessageGroupId ?? 'unknown',
            MessageDeduplicationId: record.attributes.MessageDeduplicationId ?? record.messageId,
          }
        : {}),
    }),
  );
}

function validateDefinition(given: ConsumerDefinition): void {
  if (!given || typeof given !== 'object')
    throw new ValidationError('definition', 'must be an object', given);
  // Checked as plain data: definitions may come from JavaScript or casts.
  const definition = given as Partial<Record<'name' | 'ordered' | 'handle' | 'handles' | 'skip', unknown>>;
  if (typeof definition.name !== 'string' || !NAME_PATTERN.test(definition.name)) {
    throw new ValidationError('definition.name', `must match ${NAME_PATTERN}`, definition.name);
  }
  if (typeof definition.ordered !== 'boolean')
    throw new ValidationError('definition.ordered', 'must be a boolean', definition.ordered);
  if (typeof definition.handle !== 'function')
    throw new ValidationError('definition.handle', 'must be a function', definition.handle);
  if (definition.handles === undefined) return;
  if (!Array.isArray(definition.handles) || definition.handles.length === 0) {
    throw new ValidationError(
      'definition.handles',
      'must be a non-empty array of event types (omit it to receive every event raw)',
      definition.handles,
    );
  }
  for (const type of definition.handles as ReadonlyArray<unknown>) {
    if (typeof type !== 'string' || !catalog.has(type)) {
      throw new ValidationError(
        'definition.handles',
        `must name event types of the catalog (known: ${catalog.types.join(', ')})`,
        type,
      );
    }
  }
  if (definition.skip !== undefined && typeof definition.skip !== 'function')
    throw new ValidationError('definition.skip', 'must be a function', definition.skip);
  if (definition.ordered && definition.skip === undefined) {
    // Its FIFO queue carries every event of every aggregate; silently dropping the unhandled ones
    // would leave sequence checks looking at gaps.
    throw new ValidationError(
      'definition.skip',
      'is required for an ordered consumer of typed events: say what happens to the event types it does not handle',
      definition.skip,
    );
  }
}
