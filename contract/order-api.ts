/** The HTTP headers of the order API (the producer's Function URL), read by the API and sent by its clients. */
export const ORDER_API_HEADERS = {
  /** Required on every POST: a retry with the same key commits nothing and answers with the first result. */
  idempotencyKey: 'idempotency-key',
  /** `true` on an answer that replays the first result of a key. */
  idempotentReplayed: 'idempotent-replayed',
  /** W3C trace context; the events carry it on to every consumer. */
  traceparent: 'traceparent',
  correlationId: 'x-correlation-id',
} as const;
