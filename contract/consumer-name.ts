/**
 * The consumer-name rule. A consumer's name prefixes every key it owns (read model, idempotency
 * records, checkpoints), is its metrics dimension and its Powertools service name, and gives its
 * construct id (`order-emails` → `OrderEmails`). The kit, the construct and the scaffold check it here.
 */
export const CONSUMER_NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** Length limits of a consumer name (the construct id and key prefixes stay short). */
export const CONSUMER_NAME_LENGTH = { min: 2, max: 40 } as const;

/** What is wrong with a consumer name, or undefined when it follows the rule. */
export function consumerNameProblem(name: unknown): string | undefined {
  if (
    typeof name !== 'string' ||
    name.length < CONSUMER_NAME_LENGTH.min ||
    name.length > CONSUMER_NAME_LENGTH.max ||
    !CONSUMER_NAME_PATTERN.test(name)
  ) {
    return `a consumer name must be kebab-case, ${CONSUMER_NAME_LENGTH.min} to ${CONSUMER_NAME_LENGTH.max} characters: lowercase words of letters and digits joined by single dashes, starting with a letter, such as order-emails (given ${JSON.stringify(name)})`;
  }
  return undefined;
}

/** The construct id of a consumer: `order-emails` → `OrderEmails`. */
export function consumerConstructId(name: string): string {
  return name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
