/**
 * The consumer kit: what every consumer of the outbox pipeline is built on.
 *
 * - `definition.ts`: {@link defineConsumer} (registered consumers) and validation;
 * - `transport.ts`, `decoding.ts`, `ordering.ts`: pure decoding by transport, catalog
 *   validation and upcasting, the ordering gate;
 * - `store.ts`, `persistence.ts`, `dead-letter.ts`: the consumer's items, the kit's own
 *   (checkpoints, parked events, effect markers), the DLQ;
 * - `processing.ts`, `handler.ts`: the per-record flow and its middy + Powertools wiring.
 */

export { PermanentFailure } from '../shared/errors';
export { type Delivery, decodeEvent, deliver } from './decoding';
export {
  type ConsumerContext,
  type ConsumerDefinition,
  type ConsumerKind,
  consumerDefinition,
  defineConsumer,
  type OrderedTypedConsumerSpec,
  type RawConsumerSpec,
  type TypedConsumerSpec,
} from './definition';
export {
  type ConsumerHandler,
  type ConsumerObservability,
  createConsumer,
  groupByMessageGroup,
} from './handler';
export { type Checkpoint, type GateDecision, gate } from './ordering';
export { type ConsumerRuntime, runtimeFromEnv } from './runtime';
export { type ConsumerStore, MAX_STAGED_WRITES, type StoreUpdate } from './store';
export { decodeMessage, type TransportMessage, type VoidMarker } from './transport';
