import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBRecord, SQSEvent, SQSRecord } from 'aws-lambda';

const EVENTS_DIR = dirname(fileURLToPath(import.meta.url));

/** Fixture types by `<service>/<case>`; add a line when adding a fixture. */
export interface EventFixtures {
  'dynamodb/outbox-insert': DynamoDBRecord;
  'sqs/fifo-envelope': SQSEvent;
  'sqs/eventbridge-envelope': SQSEvent;
}

/**
 * Loads a real-shaped AWS event from `test/events/<service>/<case>.json`.
 * A fresh copy each call, so a test may mutate it.
 */
export function loadEvent<K extends keyof EventFixtures>(name: K): EventFixtures[K] {
  return JSON.parse(readFileSync(join(EVENTS_DIR, `${name}.json`), 'utf8')) as EventFixtures[K];
}

/** The first record of an SQS fixture, checked. */
export function firstSqsRecord(event: SQSEvent): SQSRecord {
  const record = event.Records[0];
  if (!record) throw new Error('fixture has no records');
  return record;
}
