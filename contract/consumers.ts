/**
 * The consumer registry: every consumer of the pipeline, declared once, as data. The stack
 * creates each one's queue, function, alarms and outputs from it; the consumer kit takes each
 * one's kind and name from it; the operator CLI, the local demo and the tests read it.
 * `npm run new:consumer` adds an entry above the marker line.
 *
 * A consumer `order-emails` lives in `functions/consumers/order-emails.ts`, is the construct
 * `OrderEmails` and owns every key starting with `order-emails#` / `VIEW#order-emails#`.
 */
export const CONSUMERS = [
  { name: 'order-projection', kind: 'ordered', startPosition: 'earliest' },
  { name: 'order-activity', kind: 'unordered', detailTypePrefix: 'Order' },
  // new:consumer adds entries above this line
] as const satisfies ReadonlyArray<ConsumerDeclaration>;

/**
 * Where an ordered consumer starts an aggregate it has no checkpoint for:
 * - `earliest`: at sequence 1. An aggregate whose first event it sees is later (it joined a
 *   running system) waits, its events parked, until `npm run outbox -- backfill` sends the history.
 * - `first-seen`: at the first event it receives for the aggregate; earlier events are never
 *   applied. For consumers that only care about what happens after they join.
 */
export type StartPosition = 'earliest' | 'first-seen';

/** Settings every consumer may give. */
interface ConsumerDeclarationBase {
  /** Kebab-case name (see contract/consumer-name.ts); its code is `functions/consumers/<name>.ts`. */
  readonly name: string;
  /** Messages per invocation. @default 10 */
  readonly batchSize?: number;
  /** Most concurrent invocations the queue's event source mapping starts (2..1000). @default no cap */
  readonly maxConcurrency?: number;
}

/** A consumer that applies each aggregate's events in order, from its own FIFO queue fed by the relay. */
export interface OrderedConsumerDeclaration extends ConsumerDeclarationBase {
  readonly kind: 'ordered';
  readonly startPosition: StartPosition;
}

/** A consumer with no order between events, fed by an EventBridge rule on the bus. */
export interface UnorderedConsumerDeclaration extends ConsumerDeclarationBase {
  readonly kind: 'unordered';
  /** Event types (`detail-type`) the rule forwards; the kit delivers them typed and validated. */
  readonly eventTypes?: ReadonlyArray<string>;
  /** Forward every event type starting with this prefix, untyped. */
  readonly detailTypePrefix?: string;
}

/** One entry of the registry. */
export type ConsumerDeclaration = OrderedConsumerDeclaration | UnorderedConsumerDeclaration;

/** The kinds of consumer, in one vocabulary for the stack, the kit, the tools and the docs. */
export const CONSUMER_KINDS = ['ordered', 'unordered'] as const;

/** A registered consumer's name. */
export type ConsumerName = (typeof CONSUMERS)[number]['name'];

/** The entry file of a consumer, below `functions/`, without extension. */
export function consumerEntry(name: string): string {
  return `consumers/${name}`;
}

/** The registry entry of a consumer, or undefined. */
export function findConsumer(name: string): ConsumerDeclaration | undefined {
  return (CONSUMERS as ReadonlyArray<ConsumerDeclaration>).find((consumer) => consumer.name === name);
}

/** Every registered consumer, typed as declarations. */
export function registeredConsumers(): ReadonlyArray<ConsumerDeclaration> {
  return CONSUMERS;
}
