import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { ObservedInvocation } from 'local-aws';
import { TRANSPORT_ATTRIBUTES, VOID_MESSAGE_KIND } from '../../contract/transport';

/** What one consumer function was seen to process. */
export interface ConsumerDeliveries {
  readonly functionId: string;
  readonly ordered: boolean;
  /** Successful processings per event id (more than 1 = duplicate delivery, suppressed by idempotency). */
  readonly processed: Map<string, number>;
  /** Highest sequence processed per aggregate, to detect order violations. */
  readonly highestSequence: Map<string, number>;
  orderViolations: number;
  duplicateDeliveries: number;
  failedRecords: number;
  readonly latenciesMs: number[];
  lastProcessedAt: number;
}

interface EnvelopeFields {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  sequence: number;
  time: string;
}

/**
 * Watches the invocations the local event source mappings make and records,
 * from outside the functions, which events each consumer processed, in what
 * order, how often and how long after commit. It reads only envelopes' ids,
 * keys, sequences and timestamps, never payloads.
 */
export class DeliveryTracker {
  readonly consumers = new Map<string, ConsumerDeliveries>();

  /** Feed this to `startOutboxPipeline({ observe })`. */
  readonly observe = (invocation: ObservedInvocation): void => {
    if (invocation.mapping.source.kind !== 'sqs') return;
    const event = invocation.event as SQSEvent;
    const consumer = this.consumer(
      invocation.mapping.functionLogicalId,
      Boolean(event.Records[0]?.attributes.MessageGroupId),
    );
    const failed = new Set(
      invocation.error
        ? event.Records.map((r) => r.messageId)
        : ((invocation.response as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map(
            (f) => f.itemIdentifier,
          ),
    );
    for (const record of event.Records) {
      // A void marker holds the place of an event no target could carry: nothing was delivered.
      if (record.messageAttributes?.[TRANSPORT_ATTRIBUTES.kind]?.stringValue === VOID_MESSAGE_KIND) continue;
      if (failed.has(record.messageId)) {
        consumer.failedRecords++;
        continue;
      }
      const envelope = readEnvelope(record.body);
      if (!envelope) continue;
      const seen = consumer.processed.get(envelope.id) ?? 0;
      consumer.processed.set(envelope.id, seen + 1);
      if (seen > 0) {
        consumer.duplicateDeliveries++;
        continue;
      }
      const key = `${envelope.aggregatetype}#${envelope.aggregateid}`;
      const highest = consumer.highestSequence.get(key) ?? 0;
      if (envelope.sequence < highest) consumer.orderViolations++;
      else consumer.highestSequence.set(key, envelope.sequence);
      consumer.latenciesMs.push(invocation.endedAt - Date.parse(envelope.time));
      consumer.lastProcessedAt = Math.max(consumer.lastProcessedAt, invocation.endedAt);
    }
  };

  /** Distinct events a consumer processed. */
  processedCount(functionId: string): number {
    return this.consumers.get(functionId)?.processed.size ?? 0;
  }

  private consumer(functionId: string, ordered: boolean): ConsumerDeliveries {
    let consumer = this.consumers.get(functionId);
    if (!consumer) {
      consumer = {
        functionId,
        ordered,
        processed: new Map(),
        highestSequence: new Map(),
        orderViolations: 0,
        duplicateDeliveries: 0,
        failedRecords: 0,
        latenciesMs: [],
        lastProcessedAt: 0,
      };
      this.consumers.set(functionId, consumer);
    }
    return consumer;
  }
}

/** The envelope in an SQS body: the body itself, or the `detail` of an EventBridge event. */
function readEnvelope(body: string): EnvelopeFields | undefined {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const envelope = (parsed['detail-type'] !== undefined ? parsed.detail : parsed) as EnvelopeFields;
    return typeof envelope?.id === 'string' && typeof envelope.sequence === 'number' ? envelope : undefined;
  } catch {
    return undefined;
  }
}

/** The p-th percentile (0–100) of a list of numbers, by nearest rank. */
export function percentile(values: ReadonlyArray<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
