/** What every request mapper shares. */
import type { AuthorizationRequest } from '../evaluate';

/** Where the local stack lives: ARNs are built in this account and region. */
export interface LocalAccount {
  readonly accountId: string;
  readonly region: string;
}

/** The IAM authorizations of one API call, as AWS would check them. */
export interface MappedRequest {
  /** The API operation, e.g. `TransactWriteItems`. */
  readonly operation: string;
  /** Every action/resource pair; all must be allowed for the call to proceed. */
  readonly authorizations: readonly AuthorizationRequest[];
}

/** A request the mappers cannot read (missing table name, unparseable key condition...). */
export class RequestMappingError extends Error {
  constructor(
    readonly operation: string,
    message: string,
  ) {
    super(`${operation}: ${message}`);
    this.name = 'RequestMappingError';
  }
}

/** The parsed JSON body of an AWS JSON-protocol request. */
export type JsonBody = Readonly<Record<string, unknown>>;

/** Reads a required string field, or throws a {@link RequestMappingError} naming it. */
export function requiredString(body: JsonBody, field: string, operation: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '')
    throw new RequestMappingError(
      operation,
      `${field} must be a non-empty string (given ${JSON.stringify(value)})`,
    );
  return value;
}

/** The operation name from `X-Amz-Target: <prefix>.<Operation>`, if the prefix is the expected one. */
export function operationOf(target: string | undefined, prefix: string): string | undefined {
  if (target === undefined || !target.startsWith(`${prefix}.`)) return undefined;
  return target.slice(prefix.length + 1);
}
