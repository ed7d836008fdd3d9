/**
 * Aggregate types of the example domain: the first part of an aggregate key (`Order#o-1`), the
 * `aggregatetype` of its events, and the key prefix the order API's IAM grant is scoped to.
 */
export const AGGREGATE_TYPES = {
  order: 'Order',
} as const;
