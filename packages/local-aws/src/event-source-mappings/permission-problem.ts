/**
 * What an event source mapping does when its function's execution role may not
 * read its source (or write its on-failure destination). On AWS Lambda polls
 * with the function's role: a missing permission does not stop the service, the
 * mapping keeps trying and reports the problem (`LastProcessingResult` of the
 * mapping: "PROBLEM: ..."), and nothing is delivered until the permission is
 * granted. Locally a refused call is reported once, through the mapping's log,
 * kept as `problem` until a call succeeds again, and counted.
 */
import { S3RequestError } from '../engines/s3-client';

/** Error names of a refused call: DynamoDB, EventBridge `AccessDeniedException`; SQS and S3 `AccessDenied`. */
const DENIED_NAMES = new Set(['AccessDeniedException', 'AccessDenied']);

/** True when `error` is AWS refusing the caller (AccessDenied in any service's shape). */
export function isAccessDenied(error: unknown): boolean {
  if (error instanceof S3RequestError) return error.status === 403;
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' && DENIED_NAMES.has(name);
}

/** The current permission problem of one mapping, reported once per distinct message. */
export class PermissionProblem {
  private current: string | undefined;
  private count = 0;

  constructor(
    private readonly report: (message: string) => void,
    private readonly recovered = 'the permission problem is over: polling works again',
    private readonly consequence = "The mapping keeps retrying, as Lambda does, and delivers nothing until the function's execution role is granted the permission.",
  ) {}

  /** The problem since the last successful call, as `PROBLEM: <message>`; undefined when there is none. */
  get lastProcessingResult(): string | undefined {
    return this.current === undefined ? undefined : `PROBLEM: ${this.current}`;
  }

  /** Refused calls since the mapping was created. */
  get refusedCalls(): number {
    return this.count;
  }

  /**
   * Records `error` if it is an access denial (returns true), reporting it when it differs from the
   * current problem; any other error is left to the caller (returns false).
   */
  note(error: unknown, during: string): boolean {
    if (!isAccessDenied(error)) return false;
    this.count += 1;
    const message = `${during} was refused: ${error instanceof Error ? error.message : String(error)}`;
    if (message !== this.current) {
      this.current = message;
      this.report(`${message}. ${this.consequence}`);
    }
    return true;
  }

  /** A call succeeded: the problem, if any, is over. */
  clear(): void {
    if (this.current === undefined) return;
    this.current = undefined;
    this.report(this.recovered);
  }
}
