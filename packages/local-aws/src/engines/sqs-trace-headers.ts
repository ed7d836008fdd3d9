/**
 * The AWSTraceHeader message system attribute, which fauxqs 1.9.2 ignores:
 * kept by the emulator in front of fauxqs, as SQS keeps it with the message.
 *
 * - SendMessage and SendMessageBatch accept `MessageSystemAttributes` with
 *   `AWSTraceHeader` (DataType String, an X-Ray trace header); it is the only
 *   system attribute SQS supports, so any other name, another data type or an
 *   empty value is refused with InvalidParameterValue. The responses carry
 *   `MD5OfMessageSystemAttributes`, computed as SQS does for attributes.
 * - ReceiveMessage returns `Attributes.AWSTraceHeader` when asked for it
 *   (`All` or `AWSTraceHeader` in MessageSystemAttributeNames or the older
 *   AttributeNames), also after a redrive to the DLQ (fauxqs keeps MessageId).
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
 *
 * The headers are held by MessageId, oldest dropped beyond `MAX_TRACED_MESSAGES`.
 */
import { createHash } from 'node:crypto';
import {
  bodyOf,
  type FauxqsApp,
  type HookRequest,
  refuseWithSqsError,
  rewriteJson,
  sqsAction,
} from './fauxqs-hooks';

/** How many messages' trace headers the emulator remembers. */
const MAX_TRACED_MESSAGES = 100_000;
const TRACE_HEADER = 'AWSTraceHeader';

/** Installs the hooks; the trace headers live in the returned map, by MessageId. */
export function installTraceHeaders(app: FauxqsApp): ReadonlyMap<string, string> {
  const headers = new Map<string, string>();
  const remember = (messageId: unknown, header: string | undefined) => {
    if (typeof messageId !== 'string' || header === undefined || headers.has(messageId)) return;
    headers.set(messageId, header);
    if (headers.size > MAX_TRACED_MESSAGES) headers.delete(headers.keys().next().value as string);
  };
  app.addHook('preHandler', async (request, reply) => {
    const action = sqsAction(request);
    const body = bodyOf(request);
    if (body === undefined || (action !== 'SendMessage' && action !== 'SendMessageBatch')) return;
    const entries = action === 'SendMessage' ? [body] : Array.isArray(body.Entries) ? body.Entries : [];
    const traced = new Map<unknown, string>();
    for (const entry of entries as Array<Record<string, unknown>>) {
      const checked = traceHeaderOf(entry.MessageSystemAttributes);
      if ('error' in checked) return refuseWithSqsError(reply, 'InvalidParameterValue', checked.error);
      if (checked.header !== undefined) traced.set(action === 'SendMessage' ? '' : entry.Id, checked.header);
    }
    request.local = { ...request.local, traced };
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const action = sqsAction(request);
    if (reply.statusCode !== 200) return payload;
    if (action === 'ReceiveMessage')
      return wantsTraceHeader(request) ? withTraceHeaders(payload, headers) : payload;
    const traced = request.local?.traced as Map<unknown, string> | undefined;
    if (traced === undefined || traced.size === 0) return payload;
    return rewriteJson(payload, (response) => {
      if (action === 'SendMessage') {
        remember(response.MessageId, traced.get(''));
        return { ...response, MD5OfMessageSystemAttributes: md5OfTraceHeader(traced.get('') ?? '') };
      }
      const successful = (response.Successful as Array<Record<string, unknown>> | undefined) ?? [];
      return {
        ...response,
        Successful: successful.map((entry) => {
          const header = traced.get(entry.Id);
          if (header === undefined) return entry;
          remember(entry.MessageId, header);
          return { ...entry, MD5OfMessageSystemAttributes: md5OfTraceHeader(header) };
        }),
      };
    });
  });
  return headers;
}

/** The AWSTraceHeader of an entry's MessageSystemAttributes, or why they are refused. */
function traceHeaderOf(attributes: unknown): { header: string | undefined } | { error: string } {
  if (attributes === undefined || attributes === null) return { header: undefined };
  if (typeof attributes !== 'object' || Array.isArray(attributes)) {
    return { error: 'MessageSystemAttributes must be a map of attribute names to values.' };
  }
  let header: string | undefined;
  for (const [name, value] of Object.entries(attributes as Record<string, unknown>)) {
    if (name !== TRACE_HEADER) {
      return {
        error: `Message system attribute name '${name}' is invalid. The only supported one is AWSTraceHeader.`,
      };
    }
    const { DataType, StringValue } = (value ?? {}) as { DataType?: unknown; StringValue?: unknown };
    if (DataType !== 'String' || typeof StringValue !== 'string' || StringValue === '') {
      return {
        error: `The message system attribute AWSTraceHeader must have DataType String and a non-empty StringValue (given ${JSON.stringify(value)}).`,
      };
    }
    header = StringValue;
  }
  return { header };
}

function wantsTraceHeader(request: HookRequest): boolean {
  const body = bodyOf(request);
  const names = [body?.MessageSystemAttributeNames, body?.AttributeNames].flatMap((list) =>
    Array.isArray(list) ? list : [],
  );
  return names.includes('All') || names.includes(TRACE_HEADER);
}

function withTraceHeaders(payload: unknown, headers: ReadonlyMap<string, string>): unknown {
  return rewriteJson(payload, (response) => {
    if (!Array.isArray(response.Messages)) return response;
    const messages = response.Messages.map((message: Record<string, unknown>) => {
      const header = typeof message.MessageId === 'string' ? headers.get(message.MessageId) : undefined;
      if (header === undefined) return message;
      return {
        ...message,
        Attributes: { ...(message.Attributes as object | undefined), [TRACE_HEADER]: header },
      };
    });
    return { ...response, Messages: messages };
  });
}

/**
 * MD5 of the system attributes as SQS computes attribute digests: per attribute
 * (sorted by name), the length-prefixed UTF-8 name, the length-prefixed data
 * type, transport type 1 (string) and the length-prefixed value.
 */
export function md5OfTraceHeader(header: string): string {
  const hash = createHash('md5');
  const lengthPrefixed = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  lengthPrefixed(TRACE_HEADER);
  lengthPrefixed('String');
  hash.update(Buffer.from([1]));
  lengthPrefixed(header);
  return hash.digest('hex');
}
