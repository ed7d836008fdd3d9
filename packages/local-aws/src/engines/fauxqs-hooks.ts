/**
 * The part of fauxqs's Fastify app that the SQS emulator hooks into: request
 * hooks that see (and may change) the parsed JSON body before fauxqs does, and
 * response hooks that see (and may change) the JSON it answers.
 */

/** A request as the hooks see it; `local` holds what a request hook passes to the response hook. */
export interface HookRequest {
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  local?: Record<string, unknown>;
}

/** The reply, as far as the hooks use it. */
export interface HookReply {
  readonly statusCode: number;
  header(name: string, value: string): HookReply;
  code(status: number): HookReply;
  send(payload: string): HookReply;
}

/** fauxqs's Fastify instance, as far as the hooks use it. */
export interface FauxqsApp {
  addHook(name: 'preHandler', hook: (request: HookRequest, reply: HookReply) => Promise<unknown>): void;
  addHook(
    name: 'onSend',
    hook: (request: HookRequest, reply: HookReply, payload: unknown) => Promise<unknown>,
  ): void;
}

/** The SQS action of a request (`SendMessage` for `AmazonSQS.SendMessage`), or undefined for other requests. */
export function sqsAction(request: HookRequest): string | undefined {
  const target = request.headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith('AmazonSQS.')
    ? target.slice('AmazonSQS.'.length)
    : undefined;
}

/** The request's JSON body as an object, or undefined. */
export function bodyOf(request: HookRequest): Record<string, unknown> | undefined {
  const body = request.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined;
}

/**
 * Rewrites a JSON response payload: `change` gets the parsed object and
 * returns it (changed in place or replaced); non-JSON payloads pass unchanged.
 */
export function rewriteJson(
  payload: unknown,
  change: (response: Record<string, unknown>) => unknown,
): unknown {
  if (typeof payload !== 'string') return payload;
  let response: unknown;
  try {
    response = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (typeof response !== 'object' || response === null || Array.isArray(response)) return payload;
  return JSON.stringify(change(response as Record<string, unknown>));
}

/**
 * Answers a request from a request hook with an SQS error in the JSON protocol
 * shape (what fauxqs answers too), before fauxqs sees it. Return its result
 * from the hook.
 */
export function refuseWithSqsError(reply: HookReply, code: string, message: string): HookReply {
  return reply
    .code(400)
    .header('content-type', 'application/x-amz-json-1.0')
    .header('x-amzn-query-error', `${code};Sender`)
    .send(JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }));
}
