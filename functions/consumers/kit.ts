import {
  BatchProcessor,
  EventType,
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
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { type EventEnvelope, parseEnvelope } from '../shared/envelope';
import { PermanentFailure, ValidationError } from '../shared/errors';

/** What a consumer's `handle` gets besides the event. */
export interface ConsumerContext {
  /** Logger with the event's id, type, aggregate and correlation id as persistent keys. */
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The SQS record the event came in (for attributes such as ApproximateReceiveCount). */
  readonly record: SQSRecord;
}

/** A consumer: a name, whether it needs per-aggregate order, and what it does with one event. */
export interface ConsumerDefinition {
  /** Stable name: the idempotency key prefix and the metrics dimension. Lowercase, digits and dashes. */
  readonly name: string;
  /**
   * Ordered consumers read a FIFO queue and are processed with SqsFifoPartialProcessorAsync:
   * within a message group, a failure stops that group (later messages are returned
   * to the queue) while other groups go on. Unordered ones run records in parallel.
   */
  readonly ordered: boolean;
  /**
   * Applies one event. Throw `PermanentFailure` for what retrying cannot fix: the kit sends
   * the message to the consumer's DLQ with the reason. Any other error is retried.
   */
  handle(event: EventEnvelope, context: ConsumerContext): Promise<void>;
}

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

/**
 * Builds a consumer Lambda handler: middy + Powertools logger, metrics and tracer,
 * Powertools batch processing with partial batch responses, Powertools
 * idempotency on DynamoDB keyed on the event id, and DLQ routing of permanent
 * failures with their reason.
 *
 * @example
 * export const handler = createConsumer({
 *   name: 'order-emails', ordered: false,
 *   async handle(event, { logger }) { logger.info('sending'); },
 * });
 */
export function createConsumer(
  definition: ConsumerDefinition,
  runtime: ConsumerRuntime = runtimeFromEnv(),
): middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context> {
  validateDefinition(definition);
  const serviceName = definition.name;
  const logger = runtime.logger ?? new Logger({ serviceName });
  const metrics = runtime.metrics ?? new Metrics({ serviceName });
  const tracer = runtime.tracer ?? new Tracer({ serviceName });

  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: 'id',
    // The default hour is shorter than any replay window: keep records at least as long as outbox items live.
    expiresAfterSeconds: runtime.idempotencyTtlSeconds,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: runtime.idempotencyTableName,
    awsSdkV3Client: runtime.dynamodb,
  });

  const processRecord = async (record: SQSRecord): Promise<void> => {
    let envelope: EventEnvelope | undefined;
    const recordLogger = logger.createChild();
    try {
      envelope = envelopeFromBody(record.body);
      recordLogger.appendPersistentKeys({
        correlation_id: envelope.correlationid,
        eventId: envelope.id,
        eventType: envelope.type,
        aggregate: `${envelope.aggregatetype}#${envelope.aggregateid}`,
        sequence: envelope.sequence,
      });
      let executed = false;
      const applyOnce = makeIdempotent(
        async (event: EventEnvelope) => {
          executed = true;
          await definition.handle(event, { logger: recordLogger, metrics, record });
          return { eventId: event.id };
        },
        { persistenceStore, config: idempotencyConfig, keyPrefix: definition.name },
      );
      await applyOnce(envelope);
      if (executed) {
        metrics.addMetric('EventsProcessed', MetricUnit.Count, 1);
        metrics.addMetric('EndToEndLatency', MetricUnit.Milliseconds, Date.now() - Date.parse(envelope.time));
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
      await deadLetter(runtime, definition.name, record, error);
      metrics.addMetric('EventsDeadLettered', MetricUnit.Count, 1);
      recordLogger.error('event sent to the dead-letter queue', {
        reason: error.reason,
        error: error.message,
      });
    }
  };

  const processor = definition.ordered
    ? new SqsFifoPartialProcessorAsync()
    : new BatchProcessor(EventType.SQS);

  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    idempotencyConfig.registerLambdaContext(context);
    if (definition.ordered) {
      // skipGroupOnError: a failure holds back only its own aggregate's later messages.
      return processPartialResponse(event, processRecord, processor as SqsFifoPartialProcessorAsync, {
        context,
        skipGroupOnError: true,
      });
    }
    return processPartialResponse(event, processRecord, processor as BatchProcessor, { context });
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
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

function validateDefinition(definition: ConsumerDefinition): void {
  if (!definition || typeof definition !== 'object')
    throw new ValidationError('definition', 'must be an object', definition);
  if (typeof definition.name !== 'string' || !NAME_PATTERN.test(definition.name)) {
    throw new ValidationError('definition.name', `must match ${NAME_PATTERN}`, definition.name);
  }
  if (typeof definition.ordered !== 'boolean')
    throw new ValidationError('definition.ordered', 'must be a boolean', definition.ordered);
  if (typeof definition.handle !== 'function')
    throw new ValidationError('definition.handle', 'must be a function', definition.handle);
}
