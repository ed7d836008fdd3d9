/**
 * Message attributes of the transport to ordered consumers' FIFO queues, shared by the relay
 * (which sends events and void markers), the backfill command and the consumer kit (which reads
 * them). Only principals allowed to send to those queues (the relay, the sweeper, operators) can
 * set them: a message body cannot.
 */
export const TRANSPORT_ATTRIBUTES = {
  /** `void` on a marker the relay sends in place of an event no target can carry; absent on events. */
  kind: 'outbox-message-kind',
  /**
   * `true` on the first event of an aggregate that `backfill` could still read (earlier ones
   * expired): an ordered consumer without a checkpoint for the aggregate may start there.
   */
  startsAggregate: 'outbox-starts-aggregate',
} as const;

/** The value of {@link TRANSPORT_ATTRIBUTES.kind} on a void marker. */
export const VOID_MESSAGE_KIND = 'void';
