/**
 * The request context that conditions are evaluated against. IAM compares
 * every value as text (Bool compares "true"/"false", Numeric parses numbers), so
 * values are strings; multivalued keys (`dynamodb:LeadingKeys`) hold arrays.
 * Condition key names are case-insensitive (IAM User Guide, "IAM JSON policy
 * elements: Condition"), so lookups lower-case the key.
 */

/** One context value: a string for single-valued keys, an array for multivalued keys. */
export type ContextValue = string | readonly string[];

/** Context keys and their values for one authorization request. */
export type ConditionContext = Readonly<Record<string, ContextValue | undefined>>;

/** Reads a context key (any case); undefined when the request does not carry it. */
export type ContextLookup = (key: string) => ContextValue | undefined;

/** One case-insensitive lookup over several contexts; a later context wins over an earlier one. */
export function contextLookup(...contexts: ReadonlyArray<ConditionContext>): ContextLookup {
  const values = new Map<string, ContextValue>();
  for (const context of contexts) {
    for (const [key, value] of Object.entries(context)) {
      if (value !== undefined) values.set(key.toLowerCase(), value);
    }
  }
  return (key) => values.get(key.toLowerCase());
}

/**
 * The context keys the local runtime supplies. A condition on any other key
 * sees the key as absent: it does not match, except under `...IfExists`, `Null`
 * and the negated operators, exactly as for a key AWS does not send.
 */
export const EVALUATED_CONTEXT_KEYS = [
  'aws:PrincipalArn',
  'aws:PrincipalAccount',
  'aws:PrincipalType',
  'aws:userid',
  'aws:PrincipalServiceName',
  'aws:SourceArn',
  'aws:SourceAccount',
  'aws:SecureTransport',
  'aws:CurrentTime',
  'aws:EpochTime',
  'aws:RequestedRegion',
  'dynamodb:LeadingKeys',
  'dynamodb:Attributes',
  'dynamodb:Select',
  'dynamodb:ReturnValues',
  'dynamodb:ReturnConsumedCapacity',
  'dynamodb:EnclosingOperation',
  'events:source',
  'events:detail-type',
  's3:prefix',
  's3:delimiter',
  's3:max-keys',
  'lambda:FunctionUrlAuthType',
  'lambda:InvokedViaFunctionUrl',
] as const;
