import type { StartPosition } from '../../contract/consumers';

/**
 * An ordered consumer's position in one aggregate: the last sequence it applied, and the
 * sequences it parked because they arrived before their predecessor.
 */
export interface Checkpoint {
  /** Last sequence applied; 0 when the checkpoint exists only to hold parked events. */
  readonly last: number;
  readonly parked: ReadonlyArray<number>;
}

/** What to do with event `sequence` of an aggregate. */
export type GateDecision =
  /** It is the next one: apply it, moving the checkpoint from `from` (undefined: create it). */
  | { readonly kind: 'apply'; readonly from: number | undefined }
  /** Already applied (a redelivery, a replay, a republish): acknowledge, do nothing. */
  | { readonly kind: 'duplicate'; readonly last: number }
  /** An earlier event is missing: keep this one until the checkpoint reaches `sequence - 1`. */
  | { readonly kind: 'park'; readonly last: number };

/**
 * The ordering rule of every ordered consumer (pure): event n is applied only when n - 1 is the
 * aggregate's last applied event. An aggregate without a checkpoint starts at sequence 1
 * (`earliest`) or at the first event that arrives (`first-seen`); an event the backfill marks as
 * the oldest it could still read starts an aggregate that has applied nothing yet.
 *
 * @example
 * gate({ last: 3, parked: [] }, 4, 'earliest', false); // { kind: 'apply', from: 3 }
 * gate({ last: 3, parked: [] }, 6, 'earliest', false); // { kind: 'park', last: 3 }
 */
export function gate(
  checkpoint: Checkpoint | undefined,
  sequence: number,
  startPosition: StartPosition,
  startsAggregate: boolean,
): GateDecision {
  if (checkpoint === undefined) {
    if (sequence === 1 || startPosition === 'first-seen' || startsAggregate)
      return { kind: 'apply', from: undefined };
    return { kind: 'park', last: 0 };
  }
  const { last } = checkpoint;
  if (sequence <= last) return { kind: 'duplicate', last };
  if (sequence === last + 1) return { kind: 'apply', from: last };
  // Nothing applied yet: the consumer may still start here (first-seen, or the backfill's oldest).
  if (last === 0 && (startPosition === 'first-seen' || startsAggregate)) return { kind: 'apply', from: 0 };
  return { kind: 'park', last };
}

/** The parked sequence that is next after `last`, if it is parked. */
export function nextParked(checkpoint: Checkpoint): number | undefined {
  const next = checkpoint.last + 1;
  return checkpoint.parked.includes(next) ? next : undefined;
}

/** The checkpoint after applying `sequence`: last moves there, and it is no longer parked. */
export function advanced(checkpoint: Checkpoint | undefined, sequence: number): Checkpoint {
  return { last: sequence, parked: (checkpoint?.parked ?? []).filter((parked) => parked !== sequence) };
}
