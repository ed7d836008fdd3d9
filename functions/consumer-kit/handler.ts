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
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { consumerRecordPrefix } from '../../contract/keys';
import type { EventEnvelope } from '../shared/envelope';
import { ValidationError } from '../shared/errors';
import type { ConsumerDefinition } from './definition';
import { type Idempotent, RecordProcessor } from './processing';
import { type ConsumerRuntime, runtimeFromEnv } from './runtime';

/** Observability the kit uses; created by the kit unless given (tests pass their own). */
export interface ConsumerObservability {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly tracer?: Tracer;
}

/** The Lambda handler type of a consumer. */
export type ConsumerHandler = middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context>;

/**
 * Builds a consumer's Lambda handler: middy + Powertools logger, metrics and tracer (AWS clients
 * wrapped, one subsegment per record, annotated with the producer's trace id), Powertools batch
 * processing with partial batch responses, Powertools idempotency on DynamoDB keyed on the event
 * id, the ordering gate for ordered consumers, staged writes committed once, and DLQ routing of
 * permanent failures with their reason.
 *
 * The runtime (tables, DLQ, clients) is read from the environment on the first invocation unless
 * given, so a consumer module can be imported without AWS settings.
 *
 * @example
 * export const consumer = defineConsumer('order-emails', { async handle(event, { logger }) {} });
 * export const handler = createConsumer(consumer);
 */
export function createConsumer(
  definition: ConsumerDefinition,
  runtime?: ConsumerRuntime,
  observability: ConsumerObservability = {},
): ConsumerHandler {
  if (!definition || typeof definition.handle !== 'function' || typeof definition.name !== 'string') {
    throw new ValidationError(
      'definition',
      'must come from defineConsumer or consumerDefinition',
      definition,
    );
  }
  const serviceName = definition.name;
  const logger = observability.logger ?? new Logger({ serviceName });
  const metrics = observability.metrics ?? new Metrics({ serviceName });
  const tracer = observability.tracer ?? new Tracer({ serviceName });
  const wire = lazyWiring(definition, runtime, { logger, metrics, tracer });

  const processRecord = async (record: SQSRecord): Promise<void> => {
    const { processor } = wire();
    await traced(tracer, definition.name, record, () => processor.process(record));
  };

  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    wire().config.registerLambdaContext(context);
    return processBatch(definition.kind, event, context, processRecord);
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

/** What a consumer's handler runs records with, built once per execution environment. */
interface ConsumerWiring {
  readonly processor: RecordProcessor;
  readonly config: IdempotencyConfig;
}

/**
 * Builds the wiring on its first call and returns the same one afterwards, so that the runtime
 * (read from the environment unless given, with traced AWS clients) is resolved on the first
 * invocation, not when the consumer module is imported.
 */
function lazyWiring(
  definition: ConsumerDefinition,
  runtime: ConsumerRuntime | undefined,
  observability: Required<ConsumerObservability>,
): () => ConsumerWiring {
  let wiring: ConsumerWiring | undefined;
  return () => {
    if (wiring) return wiring;
    const { logger, metrics, tracer } = observability;
    const resolved =
      runtime ??
      runtimeFromEnv(definition, {
        dynamodb: tracer.captureAWSv3Client(new DynamoDBClient({})),
        sqs: tracer.captureAWSv3Client(new SQSClient({})),
      });
    const config = new IdempotencyConfig({
      eventKeyJmesPath: 'id',
      // Powertools' default is one hour; consumers must remember as long as any replay source reaches.
      expiresAfterSeconds: resolved.memorySeconds,
    });
    wiring = {
      processor: new RecordProcessor(
        definition,
        resolved,
        { logger, metrics },
        powertoolsIdempotency(definition, resolved, config),
      ),
      config,
    };
    return wiring;
  };
}

/**
 * Powertools idempotency on the kit table, keyed on the event id under the consumer's prefix:
 * runs `apply` the first time an event is seen, and says whether it ran.
 */
function powertoolsIdempotency(
  definition: ConsumerDefinition,
  runtime: ConsumerRuntime,
  config: IdempotencyConfig,
): Idempotent {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: runtime.kitTableName,
    awsSdkV3Client: runtime.dynamodb,
  });
  return async (envelope, apply) => {
    let ran = false;
    // The prefix is the consumer's name without its trailing '#': Powertools adds the separator.
    const once = makeIdempotent(
      async (_event: EventEnvelope) => {
        ran = true;
        await apply();
        return { eventId: _event.id };
      },
      { persistenceStore, config, keyPrefix: consumerRecordPrefix(definition.name).slice(0, -1) },
    );
    await once(envelope);
    return { ran };
  };
}

/**
 * Runs a batch with Powertools batch processing and returns the partial batch response: the
 * records as one batch for an unordered consumer; for an ordered one, each message group's
 * records in order, the groups concurrently.
 */
async function processBatch(
  kind: ConsumerDefinition['kind'],
  event: SQSEvent,
  context: Context,
  processRecord: (record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  if (kind === 'unordered') {
    return processPartialResponse(event, processRecord, new BatchProcessor(BatchEventType.SQS), {
      context,
    });
  }
  // Records of one message group (one aggregate) run in order, and a failure holds back only
  // that group's later records (skipGroupOnError); groups have no order between them and run
  // concurrently. A group whose every record failed must not fail the invocation: that would
  // send the healthy groups back too, count a receive against them, and page (so no throw).
  const responses = await Promise.all(
    groupByMessageGroup(event.Records).map((records) =>
      processPartialResponse({ Records: records }, processRecord, new SqsFifoPartialProcessorAsync(), {
        context,
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      }),
    ),
  );
  return { batchItemFailures: responses.flatMap((response) => response.batchItemFailures) };
}

/** Splits a FIFO batch by MessageGroupId, keeping each group's records in their batch order. */
export function groupByMessageGroup(records: ReadonlyArray<SQSRecord>): SQSRecord[][] {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes?.MessageGroupId ?? '';
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  return [...groups.values()];
}

/**
 * Runs one record in a subsegment of its own, annotated with the producer's X-Ray trace id (from
 * the message's AWSTraceHeader, which the relay sets from the envelope's traceparent), so a
 * trace search by the request's trace id finds every consumer's work. No payload is recorded.
 */
async function traced(
  tracer: Tracer,
  consumer: string,
  record: SQSRecord,
  run: () => Promise<void>,
): Promise<void> {
  const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
  if (!parent) return run();
  const subsegment = parent.addNewSubsegment(`## ${consumer} record`);
  tracer.setSegment(subsegment);
  const producerTrace = /Root=([^;]+)/.exec(record.attributes?.AWSTraceHeader ?? '')?.[1];
  if (producerTrace) subsegment.addAnnotation('producerTraceId', producerTrace);
  subsegment.addAnnotation('messageId', record.messageId);
  try {
    await run();
  } catch (error) {
    subsegment.addError(error as Error);
    throw error;
  } finally {
    subsegment.close();
    tracer.setSegment(parent);
  }
}
