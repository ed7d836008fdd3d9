/**
 * Runs fauxqs (an in-memory SQS/SNS/S3 emulator) in this process on 127.0.0.1.
 *
 * What fauxqs 1.9.2 actually does, verified by experiment and pinned by
 * packages/local-aws/test/engines/sqs-emulator.test.ts (a fauxqs upgrade that changes any of
 * this fails that test):
 *
 * - Binding: `startFauxqs()` always listens on 0.0.0.0, so this module uses its
 *   `buildApp()` and listens on 127.0.0.1 itself. Queue URLs it returns look like
 *   http://sqs.<region>.localhost:<port>/000000000000/<name>; the SDK sends requests
 *   to the configured endpoint and passes the URL in the body, where fauxqs matches
 *   it exactly, so always use the QueueUrl fauxqs returned.
 * - FIFO ordering: messages of one MessageGroupId are delivered in send order, and
 *   a group is locked while any of its messages is in flight (not deleted and not
 *   yet visible again).
 * - FIFO batches: ONE message per group per ReceiveMessage. Real SQS may return
 *   several messages of one group in a receive (in order). Locally a FIFO batch
 *   therefore holds at most one message per group, and a group's next message
 *   becomes receivable only after the previous one is deleted.
 * - Deduplication: a repeated MessageDeduplicationId within 5 minutes is accepted
 *   and answered with the original MessageId and SequenceNumber, and not enqueued
 *   again; ContentBasedDeduplication=true uses SHA-256 of the body as the id.
 *   Without either, SendMessage fails with InvalidParameterValue.
 * - Visibility: a received message reappears after the queue's VisibilityTimeout
 *   (or the ReceiveMessage override) with ApproximateReceiveCount incremented;
 *   ChangeMessageVisibility extends it, and 0 makes the message visible at once
 *   (back at the head of its group on FIFO). Expired messages return lazily, when
 *   the next receive looks.
 * - Redrive: with RedrivePolicy, a message is moved to the DLQ on the first receive
 *   where its receive count would exceed maxReceiveCount (so it is delivered
 *   maxReceiveCount times, then moved when next received). A FIFO DLQ keeps the
 *   message's group id, deduplication id and sequence number.
 * - SendMessageBatch reports per-entry failures in `Failed` (e.g. a missing
 *   MessageGroupId on FIFO, invalid characters) while the other entries succeed.
 *   Batch-level problems (more than 10 entries, duplicate ids) fail the request.
 * - Errors: every query-compatible error code is sent as AWS.SimpleQueueService.<code>,
 *   so the SDK names e.g. a bad parameter `AWS.SimpleQueueService.InvalidParameterValue`;
 *   match on the code's suffix, not on the full name.
 * - StartMessageMoveTask, ListMessageMoveTasks and CancelMessageMoveTask are not
 *   implemented: the request fails with `InvalidAction`. DLQ redrive back to
 *   the source queue has to be done with receive + send locally.
 */
import { buildApp } from 'fauxqs';
import { seededRandom } from '../faults';
import { type FauxqsApp, type HookRequest, rewriteJson, sqsAction } from './fauxqs-hooks';
import { LOOPBACK_HOST } from './free-port';
import { installAwsMessageContentsErrors, patchFauxqsMessageCharacters } from './sqs-message-characters';
import { installTraceHeaders } from './sqs-trace-headers';

/** Options of {@link startSqsEmulator}. */
export interface SqsEmulatorOptions {
  /**
   * Port to listen on.
   * @default a free port chosen by the OS
   */
  readonly port?: number;
  /**
   * Region used in queue ARNs when a request's signature does not name one.
   * @default 'us-east-1'
   */
  readonly defaultRegion?: string;
  /**
   * Receives lifecycle messages. fauxqs's own request logging is always off.
   * @default no logging
   */
  readonly log?: (message: string) => void;
  /**
   * Seeded SendMessageBatch entry failures (fauxqs has none of its own).
   * @default no faults
   */
  readonly faults?: SqsFaults;
}

/** Fault injection for SendMessageBatch, the relay's call. */
export interface SqsFaults {
  /** Probability that each entry fails with `InternalError` (the others are enqueued). @default 0 */
  readonly sendMessageBatchEntryFailureRate?: number;
  /** @default 1 */
  readonly seed?: number;
}

/** Live control of the injected faults, and what they did. */
export interface SqsFaultControl {
  set(faults: SqsFaults): void;
  readonly injected: { entries: number };
}

/** A running SQS emulator. */
export interface SqsEmulator {
  /** http://127.0.0.1:<port>, for `new SQSClient({ endpoint })`. */
  readonly endpoint: string;
  readonly port: number;
  /** Injected SendMessageBatch failures; change them at runtime with `faults.set`. */
  readonly faults: SqsFaultControl;
  /** Stops listening and closes open connections. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts fauxqs in this process, listening on 127.0.0.1.
 *
 * @example
 * const sqsEngine = await startSqsEmulator();
 * try {
 *   const sqs = new SQSClient({ endpoint: sqsEngine.endpoint, region: 'us-east-1', credentials });
 * } finally {
 *   await sqsEngine.stop();
 * }
 */
export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<SqsEmulator> {
  const startedAt = performance.now();
  const app = buildApp({ logger: false, defaultRegion: options.defaultRegion ?? 'us-east-1' });
  await patchFauxqsMessageCharacters();
  const hooks = app as unknown as FauxqsApp;
  installAwsMessageContentsErrors(hooks);
  installTraceHeaders(hooks);
  const faults = installSendMessageBatchFaults(hooks, options.faults);
  await app.listen({ port: options.port ?? 0, host: LOOPBACK_HOST });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error(`fauxqs did not report a TCP address (got ${String(address)})`);
  }
  const endpoint = `http://${LOOPBACK_HOST}:${address.port}`;
  options.log?.(`fauxqs ready at ${endpoint} in ${Math.round(performance.now() - startedAt)} ms`);
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port: address.port,
    faults,
    stop() {
      const current =
        stopping ??
        app.close().then(() => {
          options.log?.(`fauxqs at ${endpoint} stopped`);
        });
      stopping = current;
      return current;
    },
  };
}

/**
 * Fails some SendMessageBatch entries the way SQS reports per-entry failures:
 * the chosen entries are removed before fauxqs sees the request, and added to the
 * response's `Failed` list with `InternalError` (SenderFault false, so retryable).
 */
function installSendMessageBatchFaults(app: FauxqsApp, initial: SqsFaults = {}): SqsFaultControl {
  let rate = 0;
  let random = seededRandom(1);
  const control: SqsFaultControl = {
    injected: { entries: 0 },
    set(faults) {
      const next = faults.sendMessageBatchEntryFailureRate ?? 0;
      if (!(next >= 0 && next <= 1))
        throw new RangeError(`sendMessageBatchEntryFailureRate must be between 0 and 1 (given ${next})`);
      rate = next;
      random = seededRandom(faults.seed ?? 1);
    },
  };
  control.set(initial);
  const isBatchSend = (request: HookRequest) => sqsAction(request) === 'SendMessageBatch';
  app.addHook('preHandler', async (request) => {
    if (rate === 0 || !isBatchSend(request)) return;
    const body = request.body as { Entries?: Array<{ Id: string }> } | undefined;
    if (!body?.Entries) return;
    const failed = body.Entries.filter(() => random() < rate).map((entry) => entry.Id);
    if (failed.length === 0) return;
    body.Entries = body.Entries.filter((entry) => !failed.includes(entry.Id));
    request.local = { ...request.local, injectedFailures: failed };
    control.injected.entries += failed.length;
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    const injected = request.local?.injectedFailures as string[] | undefined;
    if (injected === undefined) return payload;
    return rewriteJson(payload, (response) => ({
      ...response,
      Successful: response.Successful ?? [],
      Failed: [
        ...((response.Failed as unknown[] | undefined) ?? []),
        ...injected.map((Id) => ({
          Id,
          SenderFault: false,
          Code: 'InternalError',
          Message: 'injected fault',
        })),
      ],
    }));
  });
  return control;
}
