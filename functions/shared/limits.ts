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

/**
 * Characters SQS accepts in a message body: `#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD |
 * #x10000–#x10FFFF` (SendMessage, "Message" in the SQS API reference). Everything else — other
 * control characters, lone surrogates, U+FFFE and U+FFFF — is refused with InvalidMessageContents.
 * `JSON.stringify` escapes control characters and lone surrogates but leaves U+FFFE/U+FFFF raw,
 * so an event's JSON can hold characters no FIFO queue will carry.
 */
const SQS_REFUSED_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The first character of `text` SQS would refuse, as `U+XXXX`, or undefined when SQS takes it all. */
export function sqsRefusedCharacter(text: string): string | undefined {
  const match = SQS_REFUSED_CHARACTER.exec(text);
  if (!match) return undefined;
  const codePoint = match[0].codePointAt(0) ?? 0;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * JSON text SQS can carry: the characters it refuses that `JSON.stringify` leaves raw (U+FFFE,
 * U+FFFF) become `\uXXXX` escapes, so the text still parses to the same value.
 */
export function sqsSafeJson(json: string): string {
  return json.replace(
    /[\uFFFE\uFFFF]/g,
    (character) => `\\u${(character.codePointAt(0) ?? 0).toString(16).toUpperCase()}`,
  );
}

/**
 * Where in a JSON value a string (or object key) holds a character SQS refuses once serialized:
 * `{ path, character }` (path like `data.lines[0].sku`), or undefined. Serialization is taken into
 * account: characters `JSON.stringify` escapes are fine.
 */
export function findSqsRefusedCharacter(
  value: unknown,
  path: string,
): { readonly path: string; readonly character: string } | undefined {
  if (typeof value === 'string') {
    const character = sqsRefusedCharacter(JSON.stringify(value));
    return character ? { path, character } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findSqsRefusedCharacter(item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const keyCharacter = sqsRefusedCharacter(JSON.stringify(key));
      if (keyCharacter) return { path: `${path} (a key)`, character: keyCharacter };
      const found = findSqsRefusedCharacter(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}
