/**
 * Service limits the pipeline checks before it calls AWS, so an oversize request
 * fails with a typed error here instead of a cancelled transaction or a
 * half-published batch.
 *
 * Sources: DynamoDB "Service, account, and table quotas" (TransactWriteItems:
 * 100 actions, 4 MB aggregate; item size 400 KB), EventBridge PutEvents
 * (10 entries a call, 256 KB an entry, size computed as in "Calculating
 * PutEvents event entry size"), SQS SendMessageBatch (10 entries; 256 KiB for
 * the whole batch is the long-standing limit, kept although SQS now accepts
 * up to 1 MiB, so queues created with the old default also accept our batches).
 */
export const LIMITS = {
  transactItems: 100,
  transactBytes: 4 * 1024 * 1024,
  itemBytes: 400 * 1024,
  eventBridgeEntryBytes: 256 * 1024,
  putEventsEntries: 10,
  sqsBatchEntries: 10,
  sqsBatchBytes: 256 * 1024,
  sqsMessageGroupIdLength: 128,
} as const;

/** UTF-8 byte length of a string. */
export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}
