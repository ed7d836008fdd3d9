/**
 * The characters SQS accepts in a message body, as AWS documents them, and
 * the patch that makes fauxqs follow that rule.
 *
 * AWS (SendMessage API reference, MessageBody): "#x9 | #xA | #xD | #x20 to
 * #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"; a body with any other
 * character is refused with InvalidMessageContents
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 * An older revision of that page said SQS replaced such characters with
 * U+FFFD; the current one says it refuses them, which is what is emulated.
 *
 * fauxqs 1.9.2 checks bodies with `INVALID_MESSAGE_BODY_CHAR =
 * /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/` (dist/sqs/sqsTypes.js). Without
 * the `u` flag that class sees UTF-16 code units, so the two surrogates of
 * every astral character (emoji, U+10000 to U+10FFFF) are refused, which AWS
 * accepts. {@link patchFauxqsMessageCharacters} replaces that RegExp's `test`
 * on the very module instance fauxqs uses with AWS's rule; U+FFFE, U+FFFF,
 * lone surrogates and control characters stay refused.
 *
 * fauxqs also words the error its own way and sends its query-error header as
 * `AWS.SimpleQueueService.InvalidMessageContents`, so the SDK would name the
 * error that instead of `InvalidMessageContents` (the SQS model gives this
 * error no legacy query code). {@link awsInvalidContentsMessage} gives the text
 * AWS answers; the SQS emulator's response hook puts both right.
 */

import { bodyOf, type FauxqsApp, rewriteJson, sqsAction } from './fauxqs-hooks';

/** A character AWS does not accept in a message body (a code point, so lone surrogates are one each). */
const INVALID_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The first character of `body` that AWS refuses, or undefined when AWS accepts every one. */
export function firstInvalidCharacter(body: string): string | undefined {
  return INVALID_CHARACTER.exec(body)?.[0];
}

/** The message AWS answers for a body with a character it refuses (as SQS words it in production). */
export function awsInvalidContentsMessage(character: string): string {
  const codePoint = character.codePointAt(0) ?? 0;
  return (
    `Invalid binary character '#x${codePoint.toString(16).toUpperCase()}' was found in the message body, ` +
    'the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].'
  );
}

let patched: Promise<void> | undefined;

/**
 * Makes fauxqs accept exactly the characters AWS accepts, by replacing `test`
 * of the RegExp that fauxqs's SendMessage and SendMessageBatch use. The module
 * is found from the path `import('fauxqs')` resolves to, so it is the same
 * instance as fauxqs's own import. Idempotent.
 *
 * @throws Error when fauxqs no longer has that RegExp (a fauxqs upgrade changed it: review this patch)
 */
export function patchFauxqsMessageCharacters(): Promise<void> {
  patched ??= (async () => {
    const types = (await import(new URL('./sqs/sqsTypes.js', import.meta.resolve('fauxqs')).href)) as {
      INVALID_MESSAGE_BODY_CHAR?: unknown;
    };
    const fauxqsRule = types.INVALID_MESSAGE_BODY_CHAR;
    if (!(fauxqsRule instanceof RegExp)) {
      throw new Error(
        `fauxqs has no INVALID_MESSAGE_BODY_CHAR RegExp in dist/sqs/sqsTypes.js (found ${typeof fauxqsRule}); the message-character patch needs a review`,
      );
    }
    fauxqsRule.test = (body: string) => firstInvalidCharacter(body) !== undefined;
  })();
  return patched;
}

/**
 * Answers refused bodies as AWS does: SendMessage with HTTP 400
 * `InvalidMessageContents` (query code `InvalidMessageContents;Sender`, so the
 * SDK throws its `InvalidMessageContents` error), SendMessageBatch with a
 * per-entry failure (Code `InvalidMessageContents`, SenderFault true), both
 * with AWS's message naming the first refused character.
 */
export function installAwsMessageContentsErrors(app: FauxqsApp): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const action = sqsAction(request);
    const body = bodyOf(request);
    if (body === undefined || reply.statusCode >= 500) return payload;
    if (action === 'SendMessage' && reply.statusCode === 400) {
      return rewriteJson(payload, (response) => {
        if (!String(response.__type).endsWith('#InvalidMessageContents')) return response;
        reply.header('x-amzn-query-error', 'InvalidMessageContents;Sender');
        const character = firstInvalidCharacter(String(body.MessageBody ?? ''));
        return character === undefined
          ? response
          : { ...response, message: awsInvalidContentsMessage(character) };
      });
    }
    if (action === 'SendMessageBatch')
      return rewriteJson(payload, (response) => withAwsEntryMessages(response, body));
    return payload;
  });
}

function withAwsEntryMessages(response: Record<string, unknown>, body: Record<string, unknown>): unknown {
  if (!Array.isArray(response.Failed)) return response;
  const entries = Array.isArray(body.Entries) ? (body.Entries as Array<Record<string, unknown>>) : [];
  const failed = response.Failed.map((failure: Record<string, unknown>) => {
    if (failure.Code !== 'InvalidMessageContents') return failure;
    const entry = entries.find((candidate) => candidate.Id === failure.Id);
    const character = firstInvalidCharacter(String(entry?.MessageBody ?? ''));
    return character === undefined ? failure : { ...failure, Message: awsInvalidContentsMessage(character) };
  });
  return { ...response, Failed: failed };
}
