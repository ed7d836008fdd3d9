import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { CONSUMER_METRICS } from '../../contract/metrics';
import type { EventEnvelope } from '../shared/envelope';
import { PermanentFailure } from '../shared/errors';
import { xrayTraceId } from '../shared/trace';
import { type DeadLetterMessage, deadLetter } from './dead-letter';
import { decodeEvent, runDelivery } from './decoding';
import type { ConsumerContext, ConsumerDefinition } from './definition';
import { advanced, type Checkpoint, gate, nextParked } from './ordering';
import { KitPersistence, type ParkedMessage } from './persistence';
import type { ConsumerRuntime } from './runtime';
import { StagingStore } from './store';
import { decodeMessage, type TransportMessage } from './transport';

/** Runs `apply` at most once per event id (Powertools idempotency); `ran` says whether it ran now. */
export type Idempotent = (envelope: EventEnvelope, apply: () => Promise<void>) => Promise<{ ran: boolean }>;

/** What the processor emits to. */
export interface ProcessorTelemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Where an ordered message sits in its aggregate. */
interface Position {
  readonly aggregateKey: string;
  readonly sequence: number;
}

/**
 * The kit's per-record logic. Unordered consumers: decode by transport, validate and upcast,
 * `handle` once (Powertools idempotency), commit staged writes with an effect marker. Ordered
 * consumers, in addition: the sequence gate — event n is applied only when n - 1 is the last one
 * applied; an event that arrives early is parked and applied as soon as its predecessor is; the
 * checkpoint moves in the same transaction as the effect. Transient errors are thrown (the batch
 * reports the record as failed, SQS redelivers it); permanent ones go to the DLQ with a reason.
 */
export class RecordProcessor {
  private readonly persistence: KitPersistence;

  constructor(
    private readonly definition: ConsumerDefinition,
    private readonly runtime: ConsumerRuntime,
    private readonly telemetry: ProcessorTelemetry,
    private readonly idempotent: Idempotent,
  ) {
    this.persistence = new KitPersistence(
      runtime.dynamodb,
      runtime.kitTableName,
      definition.name,
      runtime.memorySeconds,
    );
  }

  /** Processes one SQS record; throws to have it redelivered. */
  async process(record: SQSRecord): Promise<void> {
    const logger = this.telemetry.logger.createChild();
    let message: TransportMessage;
    try {
      message = decodeMessage(record, this.definition.kind);
    } catch (error) {
      if (!(error instanceof PermanentFailure)) throw error;
      await this.sendToDeadLetterQueue(messageOf(record), error, logger);
      return;
    }
    appendKeys(logger, message);
    try {
      if (this.definition.kind === 'ordered') await this.processOrdered(message, record, logger);
      else if (message.kind === 'event') await this.processUnordered(message.envelope, record, logger);
    } catch (error) {
      this.count('failed');
      logger.warn('event failed; it will be retried', { error: (error as Error).message });
      throw error;
    }
  }

  private async processOrdered(message: TransportMessage, record: SQSRecord, logger: Logger): Promise<void> {
    const position = positionOf(message);
    const checkpoint = await this.persistence.readCheckpoint(position.aggregateKey);
    const decision = gate(
      checkpoint,
      position.sequence,
      this.definition.startPosition,
      message.kind === 'event' && message.startsAggregate,
    );
    if (decision.kind === 'duplicate') {
      this.count('duplicates');
      logger.info('event already applied; skipped', { lastSequence: decision.last });
      if (checkpoint) await this.drain(position.aggregateKey, checkpoint, record, logger);
      return;
    }
    if (decision.kind === 'park') {
      await this.persistence.park(position.aggregateKey, decision.last, checkpoint !== undefined, {
        ...messageOf(record),
        sequence: position.sequence,
      });
      this.count('parked');
      logger.warn('event arrived before its predecessor; parked until it is applied', {
        lastSequence: decision.last,
      });
      return;
    }
    const applied = await this.applyOrdered(message, position, decision.from, record, logger, undefined);
    if (applied)
      await this.drain(position.aggregateKey, advanced(checkpoint, position.sequence), record, logger);
  }

  /**
   * Applies the next event of an aggregate and moves its checkpoint from `from` in the same
   * transaction (`releases`: the parked event being applied). Returns false when the event went
   * to the DLQ instead (the aggregate then waits for it: later events park).
   */
  private async applyOrdered(
    message: TransportMessage,
    position: Position,
    from: number | undefined,
    record: SQSRecord,
    logger: Logger,
    releases: ParkedMessage | undefined,
  ): Promise<boolean> {
    const commit = (store?: StagingStore) =>
      this.persistence.commitApply(
        position.aggregateKey,
        from,
        position.sequence,
        store?.writes ?? [],
        releases?.sequence,
      );
    if (message.kind === 'void') {
      await commit();
      this.count('voided');
      logger.error(
        'the relay declared this sequence void (its event is in the relay failure queue); stepped over',
        {
          reason: message.marker.reason,
        },
      );
      return true;
    }
    try {
      await this.runEvent(message.envelope, record, logger, commit);
      return true;
    } catch (error) {
      if (!(error instanceof PermanentFailure)) throw error;
      await this.sendToDeadLetterQueue(releases ?? messageOf(record), error, logger);
      if (releases) await this.persistence.dropParked(position.aggregateKey, releases.sequence);
      return false;
    }
  }

  /** Applies the parked events that now follow the checkpoint, in order, while there are any. */
  private async drain(
    aggregateKey: string,
    start: Checkpoint,
    record: SQSRecord,
    logger: Logger,
  ): Promise<void> {
    let checkpoint = start;
    for (let next = nextParked(checkpoint); next !== undefined; next = nextParked(checkpoint)) {
      const parked = await this.persistence.readParked(aggregateKey, next);
      if (!parked) {
        logger.error('a parked event is listed but missing; it is dropped from the parked set', {
          sequence: next,
        });
        await this.persistence.dropParked(aggregateKey, next);
        return;
      }
      const parkedLogger = logger.createChild({ persistentKeys: { releasedSequence: next } });
      let message: TransportMessage;
      try {
        message = decodeMessage(recordOf(parked, record), 'ordered');
      } catch (error) {
        if (!(error instanceof PermanentFailure)) throw error;
        await this.sendToDeadLetterQueue(parked, error, parkedLogger);
        await this.persistence.dropParked(aggregateKey, next);
        return;
      }
      // The released event's own keys (id, sequence, trace), not those of the record that released it.
      appendKeys(parkedLogger, message);
      const position = { aggregateKey, sequence: next };
      if (!(await this.applyOrdered(message, position, checkpoint.last, record, parkedLogger, parked)))
        return;
      this.count('resumed');
      checkpoint = advanced(checkpoint, next);
    }
  }

  private async processUnordered(envelope: EventEnvelope, record: SQSRecord, logger: Logger): Promise<void> {
    try {
      await this.runEvent(envelope, record, logger, async (store) => {
        if (!store || store.writes.length === 0) return;
        if ((await this.persistence.commitEffect(envelope.id, store.writes)) === 'already-applied') {
          logger.info('effect already applied for this event; writes skipped');
        }
      });
    } catch (error) {
      if (!(error instanceof PermanentFailure)) throw error;
      await this.sendToDeadLetterQueue(messageOf(record), error, logger);
    }
  }

  /**
   * Decodes the event against the catalog and runs `handle` (at most once per event id) or `skip`,
   * then `commit`s with the writes they staged.
   */
  private async runEvent(
    envelope: EventEnvelope,
    record: SQSRecord,
    logger: Logger,
    commit: (store?: StagingStore) => Promise<void>,
  ): Promise<void> {
    const delivery = decodeEvent(this.definition, envelope);
    const store = new StagingStore(this.runtime.dynamodb, this.runtime.tableName, this.definition.name);
    const context: ConsumerContext = { logger, metrics: this.telemetry.metrics, record, store };
    if (delivery.kind === 'skip') {
      await runDelivery(this.definition, delivery, context);
      await commit(store);
      this.count('skipped');
      logger.debug('event type not handled by this consumer; skipped');
      return;
    }
    const { ran } = await this.idempotent(envelope, async () => {
      await runDelivery(this.definition, delivery, context);
      await commit(store);
    });
    if (ran) {
      this.count('processed');
      const latencyMs = Date.now() - Date.parse(envelope.time);
      this.telemetry.metrics.addMetric(CONSUMER_METRICS.endToEndLatency, MetricUnit.Milliseconds, latencyMs);
      // One line per applied event, keyed by its id and trace: where `npm run trace` finds each effect.
      logger.info('event applied', { latencyMs, queuedAt: queuedAt(record) });
      return;
    }
    this.count('duplicates');
    logger.info('duplicate delivery suppressed by idempotency');
    // A checkpoint behind a completed idempotency record means the consumer's state was reset
    // without its idempotency records: move on rather than block the aggregate, and say so.
    if (this.definition.kind === 'ordered') {
      logger.error(
        'idempotency record found for an event the checkpoint has not passed; moving the checkpoint',
      );
      await commit();
    }
  }

  private async sendToDeadLetterQueue(message: DeadLetterMessage, failure: PermanentFailure, logger: Logger) {
    await deadLetter(
      this.runtime.sqs,
      this.runtime.deadLetterQueueUrl,
      this.definition.name,
      message,
      failure,
    );
    this.count('deadLettered');
    logger.error('event sent to the dead-letter queue', { reason: failure.reason, error: failure.message });
  }

  private count(metric: keyof typeof CONSUMER_METRICS): void {
    this.telemetry.metrics.addMetric(CONSUMER_METRICS[metric], MetricUnit.Count, 1);
  }
}

function positionOf(message: TransportMessage): Position {
  const { aggregatetype, aggregateid, sequence } =
    message.kind === 'void' ? message.marker : message.envelope;
  return { aggregateKey: `${aggregatetype}#${aggregateid}`, sequence };
}

/** The parts of an SQS record the kit keeps to park or dead-letter it. */
function messageOf(record: SQSRecord): DeadLetterMessage {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (value?.stringValue !== undefined) attributes[name] = value.stringValue;
  }
  return {
    body: record.body,
    messageId: record.messageId,
    messageGroupId: record.attributes?.MessageGroupId,
    messageDeduplicationId: record.attributes?.MessageDeduplicationId,
    attributes,
  };
}

/** A parked message dressed as the SQS record it came in, for decoding. */
function recordOf(parked: ParkedMessage, releasing: SQSRecord): SQSRecord {
  return {
    ...releasing,
    messageId: parked.messageId,
    body: parked.body,
    messageAttributes: Object.fromEntries(
      Object.entries(parked.attributes).map(([name, value]) => [
        name,
        { stringValue: value, dataType: 'String' },
      ]),
    ),
  };
}

/** When SQS got the message (the relay's send, or EventBridge's delivery), as ISO-8601. */
function queuedAt(record: SQSRecord): string | undefined {
  const sent = Number(record.attributes?.SentTimestamp);
  return Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : undefined;
}

function appendKeys(logger: Logger, message: TransportMessage): void {
  if (message.kind === 'void') {
    const { aggregatetype, aggregateid, sequence } = message.marker;
    logger.appendPersistentKeys({ aggregate: `${aggregatetype}#${aggregateid}`, sequence, voided: true });
    return;
  }
  const { envelope } = message;
  logger.appendPersistentKeys({
    correlation_id: envelope.correlationid,
    eventId: envelope.id,
    eventType: envelope.type,
    schemaVersion: envelope.schemaversion,
    aggregate: `${envelope.aggregatetype}#${envelope.aggregateid}`,
    sequence: envelope.sequence,
    ...(envelope.traceparent
      ? { traceparent: envelope.traceparent, xray_trace_id: xrayTraceId(envelope.traceparent) }
      : {}),
  });
}
