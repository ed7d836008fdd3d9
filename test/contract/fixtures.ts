import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import type { ConsumerContext } from '../../functions/consumer-kit';
import { catalog, type EventType, type TypedEvent } from '../../functions/events/catalog';
import { type EventEnvelope, parseEnvelope } from '../../functions/shared/envelope';
import { MemoryStore } from '../support/memory-store';

/** Folder of the catalog fixtures: one envelope per event type and version, `<Type>.v<N>.json`. */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** One fixture file: an envelope of one event type and version, as a producer wrote it. */
export interface EventFixture {
  /** `<Type>.v<N>.json` */
  readonly fileName: string;
  /** Path from the project root, for messages. */
  readonly path: string;
  /** Type and version as the file name says. */
  readonly type: string;
  readonly version: number;
  readonly envelope: EventEnvelope;
}

const FILE_NAME = /^([A-Za-z][A-Za-z0-9]*)\.v([1-9][0-9]*)\.json$/;

/**
 * Every fixture, read afresh (a test may change what it gets). The fixtures of an aggregate type
 * together tell one aggregate's history: their `sequence` says where each event sits in it.
 */
export function eventFixtures(): EventFixture[] {
  return readdirSync(FIXTURES_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((fileName) => {
      const match = FILE_NAME.exec(fileName);
      if (!match?.[1] || !match[2])
        throw new Error(`test/contract/fixtures/${fileName} must be named <Type>.v<N>.json`);
      const envelope = parseEnvelope(JSON.parse(readFileSync(join(FIXTURES_DIR, fileName), 'utf8')));
      return {
        fileName,
        path: `test/contract/fixtures/${fileName}`,
        type: match[1],
        version: Number(match[2]),
        envelope,
      };
    });
}

/** The fixture envelope of one event type, in the given version or the latest one. */
export function eventFixture(type: EventType, version: number = catalog.latest(type).version): EventEnvelope {
  const fixture = eventFixtures().find((f) => f.type === type && f.version === version);
  if (!fixture) throw new Error(`no fixture for ${type} v${version} in test/contract/fixtures`);
  return fixture.envelope;
}

/**
 * The fixture of an event type as a typed consumer's `handle` gets it: validated and upcast to
 * the latest version (from the given version's fixture, the latest by default).
 */
export function typedFixture<T extends EventType>(type: T, version?: number): TypedEvent<T> {
  const envelope = eventFixture(type, version);
  const { version: latest, data } = catalog.decode(type, envelope.schemaversion, envelope.data);
  return { ...envelope, schemaversion: latest, data } as unknown as TypedEvent<T>;
}

/** The SQS record an envelope would arrive in on an ordered consumer's FIFO queue. */
export function sqsRecordOf(envelope: EventEnvelope, messageId = `m-${envelope.id}`): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: JSON.stringify(envelope),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.parse(envelope.time)),
      SenderId: 'AROAEXAMPLE:outbox-relay',
      ApproximateFirstReceiveTimestamp: String(Date.parse(envelope.time) + 50),
      MessageGroupId: `${envelope.aggregatetype}#${envelope.aggregateid}`,
      MessageDeduplicationId: envelope.id,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:consumer.fifo',
    awsRegion: 'eu-west-1',
  };
}

/**
 * What the kit passes to `handle` and `skip` besides the event, for calling them directly; its
 * store is in memory (shared between calls when given) and records what was staged.
 */
export function consumerContext(
  envelope?: EventEnvelope,
  store: MemoryStore = new MemoryStore(),
): ConsumerContext & { readonly store: MemoryStore } {
  return {
    logger: new Logger({ serviceName: 'consumer-test', logLevel: 'SILENT' }),
    metrics: new Metrics({ serviceName: 'consumer-test', namespace: 'Test' }),
    record: sqsRecordOf(envelope ?? eventFixture('OrderConfirmed')),
    store,
  };
}
