/**
 * A local EventBridge: an HTTP server on 127.0.0.1 that speaks the service's
 * wire protocol (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Operation>`), so the
 * unchanged `EventBridgeClient` of the relay talks to it through
 * `AWS_ENDPOINT_URL_EVENTBRIDGE` or the client's `endpoint` option.
 *
 * What it emulates (the rules of acceptance are in `put-events.ts`):
 * - PutEvents: request-level ValidationException for 0 or more than 10 entries
 *   and for entries over the size limit together; per-entry failures
 *   (InvalidArgument, MalformedDetail, NotAuthorizedForSourceException) in
 *   `Entries[i]` and `FailedEntryCount`; an `EventId` for each accepted entry.
 * - Routing: after the response, as EventBridge does, each accepted event goes
 *   to every target of every rule of its bus whose pattern matches (the
 *   project's Event Ruler-compatible matcher, `event-pattern.ts`). SQS targets
 *   receive the event JSON through SendMessage on the SQS emulator; a FIFO
 *   target gets the rule's MessageGroupId and no deduplication id, so, as on AWS,
 *   the FIFO queue needs content-based deduplication.
 * - Retry policy and target DLQs ("Event retry policy and using dead-letter
 *   queues"): 5xx, throttling and connection failures are retried with
 *   exponential backoff and full jitter until MaximumRetryAttempts or
 *   MaximumEventAgeInSeconds runs out; other errors (the queue does not exist,
 *   missing permission, invalid parameter) go to the DLQ at once without retry.
 *   DLQ messages carry the event as body and the message attributes RULE_ARN,
 *   TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS and, when a retry
 *   limit ended the delivery, EXHAUSTED_RETRY_CONDITION. Without a DLQ the
 *   event is dropped (counted).
 * - Archive: every accepted event of a bus, in memory (`archive()`), for tests.
 * - Archives and replays ("Archiving and replaying events", StartReplay and
 *   DescribeReplay API references): CreateArchive (or `createArchive()`) keeps
 *   the bus's events that match the archive's pattern from then on, except
 *   replayed ones (EventBridge's managed archive rule excludes events with a
 *   `replay-name`). StartReplay re-routes the archived events whose `time` is in
 *   [EventStartTime, EventEndTime) through the rules of the archive's bus (only
 *   the rules in Destination.FilterArns, when given), with a top-level
 *   `replay-name` field set to the replay's name and everything else, `id` and
 *   `time` included, as archived. DescribeReplay reports STARTING, RUNNING,
 *   then COMPLETED (or CANCELLED when the emulator stops first).
 * - ListRules and DescribeEventBus, for debugging with the SDK or the CLI.
 *
 * Deliberate differences from AWS, for a local runtime:
 * - An entry for a bus that does not exist fails with InvalidArgument. AWS has
 *   been observed to answer such entries with an EventId and drop them
 *   (aws/aws-cli#9186); `acceptEventsForUnknownBus` restores that.
 * - The default MaximumRetryAttempts is 3 (AWS: 185 over 24 hours) with delays
 *   of about 100 ms doubling up to 2 s, so failures surface in seconds.
 * - Deliveries are one SendMessage per event per target (AWS batches up to 10
 *   through SendMessageBatch); ordering across events is not guaranteed either way.
 * - A replay runs at once, in event-time order, and is COMPLETED only when every
 *   replayed event reached its targets (or their DLQs); AWS replays minute by
 *   minute, asks to wait about 10 minutes before replaying recent events, and
 *   reports COMPLETED when the events were sent. Archive retention is not applied.
 * - Not emulated: signature checks, cross-account or cross-region buses, input
 *   transformers, targets other than SQS, scheduled rules, TraceHeader, the
 *   1,000-level JSON nesting limit, pagination of ListRules, CancelReplay,
 *   ListArchives, ListReplays, UpdateArchive and DeleteArchive.
 */

import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type MessageAttributeValue, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EngineError } from '../engines/errors';
import { LOOPBACK_HOST } from '../engines/free-port';
import { seededRandom } from '../faults';
import { compileEventPattern } from './event-pattern';
import {
  type BusAddress,
  checkPutEventsRequest,
  DEFAULT_MAX_ENTRIES_BYTES,
  type EventBridgeEvent,
  eventBusArn,
  PutEventsRequestError,
  parseJsonTimestamp,
  resolveEventBusName,
  ruleArn,
  validatePutEventsEntry,
} from './put-events';

export type { EventBridgeEvent } from './put-events';

/**
 * Faults to inject, for chaos tests. Every decision comes from PRNGs (mulberry32)
 * seeded with `seed`, so a run replays exactly: throttling draws once per
 * PutEvents request, entry failures draw once per entry in request order, and
 * delivery failures are keyed by (delivery number, attempt) so that concurrent
 * deliveries and their timing do not change which attempts fail.
 */
export interface EventBusFaults {
  /**
   * Probability that an entry that would otherwise be accepted fails with
   * `ErrorCode: 'InternalFailure'` (retryable per the API reference).
   * @default 0
   */
  readonly putEventsEntryFailureRate?: number;
  /**
   * Probability that a PutEvents request fails as a whole with HTTP 400
   * `ThrottlingException`. The SDK retries throttling errors by itself (standard
   * retry mode: 3 attempts), so the relay only sees a throttle that every
   * attempt drew; `counters.throttledRequests` counts each one.
   * @default 0
   */
  readonly throttleRate?: number;
  /**
   * Probability that one attempt to deliver to a target fails with a retryable
   * error (ERROR_CODE `INTERNAL_ERROR`), as if SQS answered 5xx.
   * @default 0
   */
  readonly targetDeliveryFailureRate?: number;
  /**
   * Seed of the fault PRNGs. Every `setFaults` call restarts them from it.
   * @default 1
   */
  readonly seed?: number;
}

/** Options of {@link startEventBusEmulator}. */
export interface EventBusEmulatorOptions {
  /** Where SQS targets and DLQs live: the local SQS emulator. */
  readonly sqs: { readonly endpoint: string };
  /**
   * Region written into events and ARNs.
   * @default 'us-east-1'
   */
  readonly region?: string;
  /**
   * Account written into events and ARNs.
   * @default '000000000000' (the account fauxqs uses in queue URLs)
   */
  readonly accountId?: string;
  /**
   * Port to listen on.
   * @default a free port chosen by the OS
   */
  readonly port?: number;
  /** Faults to inject from the start; change them later with `setFaults`. @default no faults */
  readonly faults?: EventBusFaults;
  /**
   * Limit of the summed entry sizes of one PutEvents request.
   * @default 262,144 bytes (256 KiB); AWS accepts 1 MiB since 2026-01-29
   */
  readonly maxEntriesBytes?: number;
  /**
   * MaximumRetryAttempts of targets that do not set their own.
   * @default 3 (AWS: 185)
   */
  readonly defaultMaximumRetryAttempts?: number;
  /**
   * Cap of the first retry delay; each retry doubles it, up to 2 s, with full jitter.
   * @default 100 ms
   */
  readonly retryBaseDelayMs?: number;
  /**
   * Answer entries for a bus that does not exist with an EventId and drop them, as
   * AWS has been observed to do, instead of failing them with InvalidArgument.
   * @default false
   */
  readonly acceptEventsForUnknownBus?: boolean;
  /**
   * How long `stop()` waits for pending deliveries before abandoning them.
   * @default 2,000 ms
   */
  readonly stopTimeoutMs?: number;
  /**
   * Receives lifecycle messages and delivery failures (never payloads).
   * @default no logging
   */
  readonly log?: (message: string) => void;
}

/** A target of a {@link LocalRule}: an SQS queue, with the rule target's retry policy and DLQ. */
export interface LocalRuleTarget {
  /** Target Id, unique within the rule. */
  readonly id: string;
  /** QueueUrl as the SQS emulator returned it. */
  readonly queueUrl: string;
  /**
   * Standard (not FIFO) queue that receives events whose delivery failed.
   * @default no DLQ: such events are dropped
   */
  readonly deadLetterQueueUrl?: string;
  /**
   * Retries after the first attempt, 0 to 185.
   * @default the emulator's `defaultMaximumRetryAttempts` (3)
   */
  readonly maximumRetryAttempts?: number;
  /**
   * How long after acceptance an event may still be retried, 60 to 86,400.
   * @default 86,400 (as AWS)
   */
  readonly maximumEventAgeInSeconds?: number;
  /**
   * SqsParameters.MessageGroupId; required when the queue is FIFO.
   * @default none (standard queue)
   */
  readonly messageGroupId?: string;
}

/** An `AWS::Events::Rule` with an event pattern and SQS targets. */
export interface LocalRule {
  readonly name: string;
  readonly eventBusName: string;
  /** The pattern as an object or as a JSON string (as CloudFormation holds it). */
  readonly eventPattern: unknown;
  readonly targets: ReadonlyArray<LocalRuleTarget>;
}

/** An archive of a bus: keeps the bus's events that match `eventPattern`, from its creation on. */
export interface LocalArchive {
  /** Archive name, 1 to 48 of `.`, `-`, `_`, letters and digits. */
  readonly name: string;
  readonly eventBusName: string;
  /**
   * Which events to keep, as an object or a JSON string.
   * @default every event of the bus
   */
  readonly eventPattern?: unknown;
}

/** An event the bus accepted. */
export interface ArchivedEvent {
  readonly event: EventBridgeEvent;
  /** When the emulator accepted it (ISO 8601 with milliseconds). */
  readonly receivedAt: string;
}

/** What the emulator has done since it started; `counters` returns a snapshot. */
export interface EventBusCounters {
  /** HTTP requests received, every operation, throttled ones included. */
  readonly requests: number;
  /** PutEvents requests failed by injected throttling. */
  readonly throttledRequests: number;
  /** PutEvents requests refused as a whole (ValidationException, SerializationException). */
  readonly rejectedRequests: number;
  readonly entriesAccepted: number;
  /** Failed entries by ErrorCode. */
  readonly entriesFailed: Readonly<Record<string, number>>;
  /** Successful deliveries by target, keyed `<bus>/<rule>/<target id>`. */
  readonly deliveries: Readonly<Record<string, number>>;
  /** Delivery attempts after the first one of a delivery. */
  readonly deliveryRetries: number;
  /** Events sent to a target DLQ. */
  readonly deadLettered: number;
  /** Events whose delivery failed and whose DLQ send failed too (lost). */
  readonly deadLetterFailures: number;
  /** Events whose delivery failed on a target without DLQ (lost, as on AWS). */
  readonly dropped: number;
}

/** A running local EventBridge. */
export interface EventBusEmulator {
  /** http://127.0.0.1:<port>, for `new EventBridgeClient({ endpoint })` or AWS_ENDPOINT_URL_EVENTBRIDGE. */
  readonly endpoint: string;
  readonly port: number;
  /** A snapshot of the counters. */
  readonly counters: EventBusCounters;
  /**
   * Creates a custom bus; the `default` bus always exists.
   * @throws EventBusEmulatorError `ResourceAlreadyExists` or `InvalidParameter`
   */
  createEventBus(name: string): void;
  /**
   * Creates or replaces (as PutRule + PutTargets) a rule of an existing bus.
   * @throws EventPatternError when the pattern is not well formed
   * @throws EventBusEmulatorError `ResourceNotFound` (bus) or `InvalidParameter`
   */
  putRule(rule: LocalRule): void;
  /**
   * The events the bus accepted, oldest first (copies).
   * @throws EventBusEmulatorError `ResourceNotFound` for an unknown bus
   */
  archive(eventBusName: string): ArchivedEvent[];
  /**
   * Creates an archive of an existing bus (as CreateArchive); returns its ARN, the
   * `EventSourceArn` of StartReplay.
   * @throws EventPatternError when the pattern is not well formed
   * @throws EventBusEmulatorError `ResourceAlreadyExists`, `ResourceNotFound` (bus) or `InvalidParameter`
   */
  createArchive(archive: LocalArchive): string;
  /** Replaces the fault configuration and restarts the fault PRNGs from its seed. */
  setFaults(faults: EventBusFaults): void;
  /**
   * Resolves when no delivery is pending (deliveries of a PutEvents count as
   * pending from before its response).
   * @default timeoutMs 10,000
   * @throws EventBusEmulatorError `IdleTimeout` when deliveries are still pending after `timeoutMs`
   */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /**
   * Stops listening, waits up to `stopTimeoutMs` for pending deliveries, then
   * abandons the rest (logged). Safe to call twice.
   */
  stop(): Promise<void>;
}

/** A misuse of the emulator's own API (not an EventBridge error answered over HTTP). */
export class EventBusEmulatorError extends EngineError {}

/**
 * Starts the local EventBridge on 127.0.0.1, delivering to SQS at `options.sqs.endpoint`.
 *
 * @example
 * const sqsEngine = await startSqsEmulator();
 * const bus = await startEventBusEmulator({ sqs: sqsEngine });
 * try {
 *   bus.createEventBus('orders');
 *   bus.putRule({ name: 'to-projection', eventBusName: 'orders', eventPattern: { source: ['orders'] },
 *     targets: [{ id: 'projection', queueUrl }] });
 *   process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
 * } finally {
 *   await bus.stop();
 *   await sqsEngine.stop();
 * }
 */
export async function startEventBusEmulator(options: EventBusEmulatorOptions): Promise<EventBusEmulator> {
  const emulator = new LocalEventBridge(options);
  await emulator.listen(options.port ?? 0);
  return emulator;
}

// ---------------------------------------------------------------------------

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Far above any valid PutEvents request; only guards the process against runaway bodies. */
const MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024;
const MAX_RETRY_DELAY_MS = 2_000;
const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400;
const MAX_TARGETS_PER_RULE = 5;
const NAME_PATTERN = /^[.\-_A-Za-z0-9]{1,64}$/;
const ARCHIVE_NAME_PATTERN = /^[.\-_A-Za-z0-9]{1,48}$/;
const BUS_NAME_PATTERN = /^[/.\-_A-Za-z0-9]{1,256}$/;

interface CompiledTarget {
  readonly id: string;
  readonly key: string;
  readonly arn: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string | undefined;
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeMs: number;
  readonly messageGroupId: string | undefined;
}

interface CompiledRule {
  readonly name: string;
  readonly arn: string;
  readonly eventBusName: string;
  readonly patternJson: string;
  readonly matches: (event: unknown) => boolean;
  readonly targets: ReadonlyArray<CompiledTarget>;
}

interface EventBus {
  readonly name: string;
  readonly createdAt: Date;
  readonly rules: Map<string, CompiledRule>;
  readonly archive: ArchivedEvent[];
}

interface Archive {
  readonly name: string;
  readonly arn: string;
  readonly eventBusName: string;
  readonly patternJson: string | undefined;
  readonly matches: (event: unknown) => boolean;
  readonly createdAt: Date;
  readonly events: ArchivedEvent[];
}

type ReplayState = 'STARTING' | 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';

interface Replay {
  readonly name: string;
  readonly arn: string;
  readonly description: string | undefined;
  readonly archive: Archive;
  readonly destination: { readonly Arn: string; readonly FilterArns?: string[] };
  readonly eventStartTime: Date;
  readonly eventEndTime: Date;
  readonly replayStartTime: Date;
  state: ReplayState;
  stateReason: string;
  eventLastReplayedTime: Date | undefined;
  replayEndTime: Date | undefined;
}

/** An event as a replay delivers it: as archived, plus the replay's name. */
type ReplayedEvent = EventBridgeEvent & { readonly 'replay-name': string };

interface DeliveryJob {
  /** Position in the delivery sequence since the last `setFaults`: the key of injected delivery faults. */
  readonly sequence: number;
  readonly event: EventBridgeEvent;
  readonly body: string;
  readonly rule: CompiledRule;
  readonly target: CompiledTarget;
  readonly acceptedAt: number;
}

interface DeliveryFailure {
  /** The EventBridge DLQ ERROR_CODE. */
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

interface MutableCounters {
  requests: number;
  throttledRequests: number;
  rejectedRequests: number;
  entriesAccepted: number;
  entriesFailed: Record<string, number>;
  deliveries: Record<string, number>;
  deliveryRetries: number;
  deadLettered: number;
  deadLetterFailures: number;
  dropped: number;
}

/** An error answered over HTTP in the JSON 1.1 error shape. */
class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

class LocalEventBridge implements EventBusEmulator {
  endpoint = '';
  port = 0;
  private readonly address: BusAddress;
  private readonly buses = new Map<string, EventBus>();
  private readonly archives = new Map<string, Archive>();
  private readonly replays = new Map<string, Replay>();
  private readonly sqs: SQSClient;
  private readonly server: Server;
  private readonly log: (message: string) => void;
  private readonly maxEntriesBytes: number;
  private readonly defaultMaximumRetryAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly stopTimeoutMs: number;
  private readonly acceptEventsForUnknownBus: boolean;
  /** Aborted by `stop()` once the drain time is over: ends retry sleeps and in-flight sends. */
  // One signal is shared by every in-flight delivery (one listener each), so lift Node's default cap of 10.
  private readonly abandon = withListenerCap(new AbortController());
  private readonly idleWaiters = new Set<() => void>();
  private readonly counts: MutableCounters = {
    requests: 0,
    throttledRequests: 0,
    rejectedRequests: 0,
    entriesAccepted: 0,
    entriesFailed: {},
    deliveries: {},
    deliveryRetries: 0,
    deadLettered: 0,
    deadLetterFailures: 0,
    dropped: 0,
  };
  private pending = 0;
  private faults: Required<EventBusFaults> = normalizeFaults({});
  private throttleRandom: () => number = seededRandom(1);
  private entryRandom: () => number = seededRandom(1);
  private deliverySequence = 0;
  private stopping: Promise<void> | undefined;

  constructor(options: EventBusEmulatorOptions) {
    this.address = { region: options.region ?? 'us-east-1', accountId: options.accountId ?? '000000000000' };
    this.log = options.log ?? (() => {});
    this.maxEntriesBytes = positiveInteger(
      'maxEntriesBytes',
      options.maxEntriesBytes ?? DEFAULT_MAX_ENTRIES_BYTES,
    );
    this.defaultMaximumRetryAttempts = integerIn(
      'defaultMaximumRetryAttempts',
      options.defaultMaximumRetryAttempts ?? 3,
      0,
      185,
    );
    this.retryBaseDelayMs = integerIn(
      'retryBaseDelayMs',
      options.retryBaseDelayMs ?? 100,
      1,
      MAX_RETRY_DELAY_MS,
    );
    this.stopTimeoutMs = integerIn('stopTimeoutMs', options.stopTimeoutMs ?? 2_000, 0, 60_000);
    this.acceptEventsForUnknownBus = options.acceptEventsForUnknownBus ?? false;
    this.setFaults(options.faults ?? {});
    this.buses.set('default', { name: 'default', createdAt: new Date(), rules: new Map(), archive: [] });
    this.sqs = new SQSClient({
      endpoint: options.sqs.endpoint,
      region: this.address.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      // The target retry policy below is EventBridge's; SDK retries would hide attempts from it.
      maxAttempts: 1,
    });
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host: LOOPBACK_HOST }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') {
      this.server.close();
      throw new EventBusEmulatorError(
        'EngineStartFailed',
        `event bus emulator has no TCP address (got ${String(address)})`,
      );
    }
    this.port = address.port;
    this.endpoint = `http://${LOOPBACK_HOST}:${address.port}`;
    this.log(`event bus emulator ready at ${this.endpoint}`);
  }

  get counters(): EventBusCounters {
    return {
      ...this.counts,
      entriesFailed: { ...this.counts.entriesFailed },
      deliveries: { ...this.counts.deliveries },
    };
  }

  createEventBus(name: string): void {
    if (!BUS_NAME_PATTERN.test(name)) {
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `event bus name must match ${BUS_NAME_PATTERN} (given '${name}')`,
      );
    }
    if (this.buses.has(name))
      throw new EventBusEmulatorError('ResourceAlreadyExists', `Event bus ${name} already exists.`);
    this.buses.set(name, { name, createdAt: new Date(), rules: new Map(), archive: [] });
  }

  putRule(rule: LocalRule): void {
    const bus = this.requireBus(rule.eventBusName);
    if (!NAME_PATTERN.test(rule.name)) {
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `rule name must match ${NAME_PATTERN} (given '${rule.name}')`,
      );
    }
    const matches = compileEventPattern(rule.eventPattern);
    const patternJson =
      typeof rule.eventPattern === 'string' ? rule.eventPattern : JSON.stringify(rule.eventPattern);
    if (rule.targets.length > MAX_TARGETS_PER_RULE) {
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `rule ${rule.name} has ${rule.targets.length} targets; a rule may have at most ${MAX_TARGETS_PER_RULE}`,
      );
    }
    const ids = new Set<string>();
    const targets = rule.targets.map((target) => {
      if (ids.has(target.id))
        throw new EventBusEmulatorError(
          'InvalidParameter',
          `rule ${rule.name} has two targets with id '${target.id}'`,
        );
      ids.add(target.id);
      return this.compileTarget(rule, target);
    });
    bus.rules.set(rule.name, {
      name: rule.name,
      arn: ruleArn(rule.name, bus.name, this.address),
      eventBusName: bus.name,
      patternJson,
      matches,
      targets,
    });
  }

  archive(eventBusName: string): ArchivedEvent[] {
    return structuredClone(this.requireBus(eventBusName).archive);
  }

  createArchive(archive: LocalArchive): string {
    const bus = this.requireBus(archive.eventBusName);
    if (!ARCHIVE_NAME_PATTERN.test(archive.name)) {
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `archive name must match ${ARCHIVE_NAME_PATTERN} (given '${archive.name}')`,
      );
    }
    if (this.archives.has(archive.name))
      throw new EventBusEmulatorError('ResourceAlreadyExists', `Archive ${archive.name} already exists.`);
    const pattern = archive.eventPattern;
    const hasPattern = pattern !== undefined && pattern !== null && pattern !== '';
    const arn = `arn:aws:events:${this.address.region}:${this.address.accountId}:archive/${archive.name}`;
    this.archives.set(archive.name, {
      name: archive.name,
      arn,
      eventBusName: bus.name,
      patternJson: hasPattern ? (typeof pattern === 'string' ? pattern : JSON.stringify(pattern)) : undefined,
      matches: hasPattern ? compileEventPattern(pattern) : () => true,
      createdAt: new Date(),
      events: [],
    });
    return arn;
  }

  setFaults(faults: EventBusFaults): void {
    this.faults = normalizeFaults(faults);
    // Independent streams: changing one rate does not shift the draws of another fault.
    this.throttleRandom = seededRandom(this.faults.seed);
    this.entryRandom = seededRandom(this.faults.seed ^ 0x9e3779b9);
    this.deliverySequence = 0;
  }

  waitForIdle(timeoutMs = 10_000): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        reject(
          new EventBusEmulatorError(
            'IdleTimeout',
            `${this.pending} deliveries still pending after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // The SDK keeps connections alive; without this, close() would wait for them to time out.
    this.server.closeAllConnections();
    await closed;
    try {
      await this.waitForIdle(this.stopTimeoutMs);
    } catch {
      this.log(`event bus emulator abandons ${this.pending} pending deliveries`);
      this.abandon.abort();
      await this.waitForIdle(1_000).catch(() => {});
    }
    this.abandon.abort();
    this.sqs.destroy();
    this.log(`event bus emulator at ${this.endpoint} stopped`);
  }

  // -- HTTP -----------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.counts.requests += 1;
    const requestId = randomUUID();
    let afterResponse: (() => void) | undefined;
    try {
      const operation = request.headers['x-amz-target'];
      const body = await readJsonBody(request);
      let result: unknown;
      switch (operation) {
        case 'AWSEvents.PutEvents': {
          const outcome = this.putEvents(body);
          result = outcome.response;
          afterResponse = outcome.startDeliveries;
          break;
        }
        case 'AWSEvents.ListRules':
          result = this.listRules(body);
          break;
        case 'AWSEvents.DescribeEventBus':
          result = this.describeEventBus(body);
          break;
        case 'AWSEvents.CreateArchive':
          result = this.createArchiveRequest(body);
          break;
        case 'AWSEvents.DescribeArchive':
          result = this.describeArchive(body);
          break;
        case 'AWSEvents.StartReplay': {
          const outcome = this.startReplay(body);
          result = outcome.response;
          afterResponse = outcome.run;
          break;
        }
        case 'AWSEvents.DescribeReplay':
          result = this.describeReplay(body);
          break;
        default:
          throw new ServiceError(
            'UnknownOperationException',
            `Operation ${String(operation)} is not supported by the local EventBridge (PutEvents, ListRules, DescribeEventBus, CreateArchive, DescribeArchive, StartReplay, DescribeReplay are)`,
          );
      }
      send(response, 200, requestId, result);
    } catch (error) {
      const failure =
        error instanceof ServiceError
          ? error
          : error instanceof PutEventsRequestError
            ? new ServiceError(error.code, error.message)
            : new ServiceError(
                'InternalFailure',
                error instanceof Error ? error.message : String(error),
                500,
              );
      send(
        response,
        failure.status,
        requestId,
        { __type: failure.code, message: failure.message },
        failure.code,
      );
    }
    // EventBridge routes after it has answered; so does the emulator.
    if (afterResponse !== undefined) setImmediate(afterResponse);
  }

  private putEvents(body: unknown): { response: unknown; startDeliveries: () => void } {
    // The SDK retries ThrottlingException itself (standard mode), so the caller sees a throttle only if every attempt drew one.
    if (this.throttleRandom() < this.faults.throttleRate) {
      this.counts.throttledRequests += 1;
      throw new ServiceError('ThrottlingException', 'Rate exceeded');
    }
    let entries: ReadonlyArray<unknown>;
    try {
      entries = checkPutEventsRequest(body, this.maxEntriesBytes);
    } catch (error) {
      this.counts.rejectedRequests += 1;
      throw error;
    }
    const receivedAt = new Date();
    const jobs: DeliveryJob[] = [];
    const results = entries.map((entry) => {
      // Drawn for every entry, valid or not, so the failing positions depend only on the seed.
      const injectFailure = this.entryRandom() < this.faults.putEventsEntryFailureRate;
      const checked = validatePutEventsEntry(entry, {
        ...this.address,
        busExists: (name) => this.buses.has(name) || this.acceptEventsForUnknownBus,
        newEventId: randomUUID,
        now: () => receivedAt,
      });
      if (!checked.ok) return this.failEntry(checked.errorCode, checked.errorMessage);
      if (injectFailure)
        return this.failEntry(
          'InternalFailure',
          'Internal failure (injected by the local fault configuration)',
        );
      this.counts.entriesAccepted += 1;
      const bus = this.buses.get(checked.eventBusName);
      if (bus !== undefined) {
        const archived = { event: checked.event, receivedAt: receivedAt.toISOString() };
        bus.archive.push(archived);
        for (const archive of this.archives.values()) {
          if (archive.eventBusName === bus.name && archive.matches(checked.event))
            archive.events.push(archived);
        }
        jobs.push(...this.route(bus, checked.event, receivedAt.getTime()));
      }
      return { EventId: checked.event.id };
    });
    this.pending += jobs.length;
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    return {
      response: { FailedEntryCount: failed, Entries: results },
      startDeliveries: () => {
        for (const job of jobs) void this.deliver(job).finally(() => this.settle());
      },
    };
  }

  private failEntry(errorCode: string, errorMessage: string): { ErrorCode: string; ErrorMessage: string } {
    this.counts.entriesFailed[errorCode] = (this.counts.entriesFailed[errorCode] ?? 0) + 1;
    return { ErrorCode: errorCode, ErrorMessage: errorMessage };
  }

  private listRules(body: unknown): unknown {
    const input = isRecord(body) ? body : {};
    const bus = this.requireBusForRequest(input.EventBusName);
    const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
    const rules = [...bus.rules.values()]
      .filter((rule) => rule.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((rule) => ({
        Name: rule.name,
        Arn: rule.arn,
        EventPattern: rule.patternJson,
        State: 'ENABLED',
        EventBusName: rule.eventBusName,
      }));
    return { Rules: rules };
  }

  private describeEventBus(body: unknown): unknown {
    const bus = this.requireBusForRequest(isRecord(body) ? body.Name : undefined);
    return {
      Name: bus.name,
      Arn: eventBusArn(bus.name, this.address),
      CreationTime: bus.createdAt.getTime() / 1000,
    };
  }

  // -- Archives and replays ---------------------------------------------------

  private createArchiveRequest(body: unknown): unknown {
    const input = isRecord(body) ? body : {};
    const bus = this.requireBusForRequest(input.EventSourceArn);
    const name = requireString(input.ArchiveName, 'ArchiveName');
    try {
      const arn = this.createArchive({ name, eventBusName: bus.name, eventPattern: input.EventPattern });
      return { ArchiveArn: arn, State: 'ENABLED', CreationTime: nowSeconds() };
    } catch (error) {
      if (error instanceof EventBusEmulatorError) {
        const code =
          error.code === 'ResourceAlreadyExists' ? 'ResourceAlreadyExistsException' : 'ValidationException';
        throw new ServiceError(code, error.message);
      }
      throw new ServiceError('InvalidEventPatternException', errorMessage(error));
    }
  }

  private describeArchive(body: unknown): unknown {
    const archive = this.requireArchive(isRecord(body) ? body.ArchiveName : undefined);
    return {
      ArchiveArn: archive.arn,
      ArchiveName: archive.name,
      EventSourceArn: eventBusArn(archive.eventBusName, this.address),
      ...(archive.patternJson === undefined ? {} : { EventPattern: archive.patternJson }),
      State: 'ENABLED',
      RetentionDays: 0,
      SizeBytes: archive.events.reduce((sum, { event }) => sum + Buffer.byteLength(JSON.stringify(event)), 0),
      EventCount: archive.events.length,
      CreationTime: archive.createdAt.getTime() / 1000,
    };
  }

  private startReplay(body: unknown): { response: unknown; run: () => void } {
    const input = isRecord(body) ? body : {};
    const name = requireString(input.ReplayName, 'ReplayName');
    if (!NAME_PATTERN.test(name)) {
      throw new ServiceError(
        'ValidationException',
        `ReplayName must match ${NAME_PATTERN} (given '${name}')`,
      );
    }
    if (this.replays.has(name))
      throw new ServiceError('ResourceAlreadyExistsException', `Replay ${name} already exists.`);
    const sourceArn = requireString(input.EventSourceArn, 'EventSourceArn');
    const archiveName = /^arn:aws[a-z-]*:events:[^:]+:\d{12}:archive\/(.+)$/.exec(sourceArn)?.[1];
    const archive = this.requireArchive(archiveName ?? sourceArn);
    const start = requireTimestamp(input.EventStartTime, 'EventStartTime');
    const end = requireTimestamp(input.EventEndTime, 'EventEndTime');
    if (start.getTime() >= end.getTime()) {
      throw new ServiceError(
        'ValidationException',
        'Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.',
      );
    }
    const destination = isRecord(input.Destination) ? input.Destination : {};
    const destinationArn = requireString(destination.Arn, 'Destination.Arn');
    if (resolveEventBusName(destinationArn, this.address) !== archive.eventBusName) {
      throw new ServiceError(
        'ValidationException',
        `Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted (archive ${archive.name} is of bus ${archive.eventBusName}).`,
      );
    }
    const filterArns = Array.isArray(destination.FilterArns)
      ? destination.FilterArns.filter((arn): arn is string => typeof arn === 'string')
      : undefined;
    const replay: Replay = {
      name,
      arn: `arn:aws:events:${this.address.region}:${this.address.accountId}:replay/${name}`,
      description: typeof input.Description === 'string' ? input.Description : undefined,
      archive,
      destination: { Arn: destinationArn, ...(filterArns === undefined ? {} : { FilterArns: filterArns }) },
      eventStartTime: start,
      eventEndTime: end,
      replayStartTime: new Date(),
      state: 'STARTING',
      stateReason: 'Replay is starting.',
      eventLastReplayedTime: undefined,
      replayEndTime: undefined,
    };
    this.replays.set(name, replay);
    return {
      response: {
        ReplayArn: replay.arn,
        State: replay.state,
        StateReason: replay.stateReason,
        ReplayStartTime: replay.replayStartTime.getTime() / 1000,
      },
      run: () => {
        void this.runReplay(replay);
      },
    };
  }

  private async runReplay(replay: Replay): Promise<void> {
    const bus = this.buses.get(replay.archive.eventBusName);
    replay.state = 'RUNNING';
    replay.stateReason = 'Replay is running.';
    const from = replay.eventStartTime.getTime();
    const to = replay.eventEndTime.getTime();
    const selected = replay.archive.events
      .filter(({ event }) => {
        const time = Date.parse(event.time);
        return time >= from && time < to;
      })
      .sort((a, b) => Date.parse(a.event.time) - Date.parse(b.event.time));
    const filter = replay.destination.FilterArns;
    const ruleFilter = filter === undefined ? undefined : (rule: CompiledRule) => filter.includes(rule.arn);
    const settled: Array<Promise<void>> = [];
    for (const { event } of selected) {
      if (bus === undefined || this.abandon.signal.aborted) break;
      const replayed: ReplayedEvent = { ...structuredClone(event), 'replay-name': replay.name };
      const jobs = this.route(bus, replayed, Date.now(), ruleFilter);
      this.pending += jobs.length;
      for (const job of jobs) settled.push(this.deliver(job).finally(() => this.settle()));
      replay.eventLastReplayedTime = new Date(event.time);
    }
    await Promise.all(settled);
    replay.replayEndTime = new Date();
    if (this.abandon.signal.aborted || bus === undefined) {
      replay.state = 'CANCELLED';
      replay.stateReason = 'The local EventBridge stopped during the replay.';
    } else {
      replay.state = 'COMPLETED';
      replay.stateReason = `Replayed ${selected.length} events.`;
    }
  }

  private describeReplay(body: unknown): unknown {
    const name = isRecord(body) ? body.ReplayName : undefined;
    const replay = typeof name === 'string' ? this.replays.get(name) : undefined;
    if (replay === undefined)
      throw new ServiceError('ResourceNotFoundException', `Replay ${String(name)} does not exist.`);
    const seconds = (date: Date | undefined) => (date === undefined ? {} : date.getTime() / 1000);
    return {
      ReplayName: replay.name,
      ReplayArn: replay.arn,
      ...(replay.description === undefined ? {} : { Description: replay.description }),
      State: replay.state,
      StateReason: replay.stateReason,
      EventSourceArn: replay.archive.arn,
      Destination: replay.destination,
      EventStartTime: seconds(replay.eventStartTime),
      EventEndTime: seconds(replay.eventEndTime),
      ReplayStartTime: seconds(replay.replayStartTime),
      ...(replay.eventLastReplayedTime === undefined
        ? {}
        : { EventLastReplayedTime: seconds(replay.eventLastReplayedTime) }),
      ...(replay.replayEndTime === undefined ? {} : { ReplayEndTime: seconds(replay.replayEndTime) }),
    };
  }

  private requireArchive(name: unknown): Archive {
    const archive = typeof name === 'string' ? this.archives.get(name) : undefined;
    if (archive === undefined)
      throw new ServiceError('ResourceNotFoundException', `Archive ${String(name)} does not exist.`);
    return archive;
  }

  private requireBusForRequest(nameOrArn: unknown): EventBus {
    const name = resolveEventBusName(nameOrArn, this.address);
    const bus = name === undefined ? undefined : this.buses.get(name);
    if (bus === undefined) {
      throw new ServiceError(
        'ResourceNotFoundException',
        `Event bus ${name ?? String(nameOrArn)} does not exist.`,
      );
    }
    return bus;
  }

  // -- Routing and delivery -------------------------------------------------

  private route(
    bus: EventBus,
    event: EventBridgeEvent,
    acceptedAt: number,
    ruleFilter: (rule: CompiledRule) => boolean = () => true,
  ): DeliveryJob[] {
    const jobs: DeliveryJob[] = [];
    const body = JSON.stringify(event);
    for (const rule of bus.rules.values()) {
      if (!ruleFilter(rule) || !rule.matches(event)) continue;
      for (const target of rule.targets) {
        jobs.push({ sequence: this.deliverySequence++, event, body, rule, target, acceptedAt });
      }
    }
    return jobs;
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const { target } = job;
    for (let retries = 0; ; retries += 1) {
      const failure = await this.attempt(job, retries);
      if (failure === undefined) {
        this.counts.deliveries[target.key] = (this.counts.deliveries[target.key] ?? 0) + 1;
        return;
      }
      if (this.abandon.signal.aborted) return;
      if (!failure.retryable) return this.deadLetter(job, failure, retries, undefined);
      if (retries >= target.maximumRetryAttempts)
        return this.deadLetter(job, failure, retries, 'MaximumRetryAttempts');
      const delay = Math.floor(
        Math.random() * Math.min(MAX_RETRY_DELAY_MS, this.retryBaseDelayMs * 2 ** retries),
      );
      if (Date.now() + delay - job.acceptedAt > target.maximumEventAgeMs) {
        return this.deadLetter(job, failure, retries, 'MaximumEventAgeInSeconds');
      }
      this.counts.deliveryRetries += 1;
      await sleep(delay, this.abandon.signal);
      if (this.abandon.signal.aborted) return;
    }
  }

  private async attempt(job: DeliveryJob, retries: number): Promise<DeliveryFailure | undefined> {
    if (keyedRandom(this.faults.seed, job.sequence, retries) < this.faults.targetDeliveryFailureRate) {
      return {
        code: 'INTERNAL_ERROR',
        message: 'Delivery failed (injected by the local fault configuration)',
        retryable: true,
      };
    }
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: job.target.queueUrl,
          MessageBody: job.body,
          MessageGroupId: job.target.messageGroupId,
        }),
        { abortSignal: this.abandon.signal },
      );
      return undefined;
    } catch (error) {
      const failure = classifySqsError(error);
      this.log(
        `delivery of event ${job.event.id} to ${job.target.key} failed (${failure.code}, ${failure.retryable ? 'retryable' : 'not retryable'}): ${failure.message}`,
      );
      return failure;
    }
  }

  private async deadLetter(
    job: DeliveryJob,
    failure: DeliveryFailure,
    retries: number,
    exhaustedCondition: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds' | undefined,
  ): Promise<void> {
    const { target } = job;
    if (target.deadLetterQueueUrl === undefined) {
      this.counts.dropped += 1;
      this.log(
        `event ${job.event.id} dropped after failing on ${target.key} (${failure.code}); the target has no DLQ`,
      );
      return;
    }
    const attributes: Record<string, MessageAttributeValue> = {
      RULE_ARN: stringAttribute(job.rule.arn),
      TARGET_ARN: stringAttribute(target.arn),
      ERROR_CODE: stringAttribute(failure.code),
      ERROR_MESSAGE: stringAttribute(failure.message),
      RETRY_ATTEMPTS: stringAttribute(String(retries)),
      ...(exhaustedCondition === undefined
        ? {}
        : { EXHAUSTED_RETRY_CONDITION: stringAttribute(exhaustedCondition) }),
    };
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: target.deadLetterQueueUrl,
          MessageBody: job.body,
          MessageAttributes: attributes,
        }),
        { abortSignal: this.abandon.signal },
      );
      this.counts.deadLettered += 1;
    } catch (error) {
      this.counts.deadLetterFailures += 1;
      this.log(`event ${job.event.id} lost: DLQ send for ${target.key} failed: ${errorMessage(error)}`);
    }
  }

  private settle(): void {
    this.pending -= 1;
    if (this.pending === 0) for (const wake of [...this.idleWaiters]) wake();
  }

  // -- Configuration ---------------------------------------------------------

  private compileTarget(rule: LocalRule, target: LocalRuleTarget): CompiledTarget {
    const where = `target '${target.id}' of rule ${rule.name}`;
    if (!NAME_PATTERN.test(target.id)) {
      throw new EventBusEmulatorError('InvalidParameter', `${where}: id must match ${NAME_PATTERN}`);
    }
    const queueArn = queueArnFromUrl(target.queueUrl, this.address);
    if (queueArn === undefined) {
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `${where}: queueUrl is not an SQS queue URL (given '${target.queueUrl}')`,
      );
    }
    const fifo = target.queueUrl.endsWith('.fifo');
    if (fifo && (target.messageGroupId === undefined || target.messageGroupId === '')) {
      // PutTargets refuses a FIFO queue target without SqsParameters.MessageGroupId.
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `${where}: a FIFO queue target needs a messageGroupId`,
      );
    }
    if (target.deadLetterQueueUrl !== undefined) {
      if (target.deadLetterQueueUrl.endsWith('.fifo')) {
        throw new EventBusEmulatorError(
          'InvalidParameter',
          `${where}: an EventBridge DLQ must be a standard queue (given '${target.deadLetterQueueUrl}')`,
        );
      }
      if (queueArnFromUrl(target.deadLetterQueueUrl, this.address) === undefined) {
        throw new EventBusEmulatorError(
          'InvalidParameter',
          `${where}: deadLetterQueueUrl is not an SQS queue URL (given '${target.deadLetterQueueUrl}')`,
        );
      }
    }
    return {
      id: target.id,
      key: `${rule.eventBusName}/${rule.name}/${target.id}`,
      arn: queueArn,
      queueUrl: target.queueUrl,
      deadLetterQueueUrl: target.deadLetterQueueUrl,
      maximumRetryAttempts: integerIn(
        `${where}: maximumRetryAttempts`,
        target.maximumRetryAttempts ?? this.defaultMaximumRetryAttempts,
        0,
        185,
      ),
      maximumEventAgeMs:
        integerIn(
          `${where}: maximumEventAgeInSeconds`,
          target.maximumEventAgeInSeconds ?? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
          60,
          86_400,
        ) * 1000,
      messageGroupId: target.messageGroupId,
    };
  }

  private requireBus(name: string): EventBus {
    const bus = this.buses.get(name);
    if (bus === undefined)
      throw new EventBusEmulatorError('ResourceNotFound', `Event bus ${name} does not exist.`);
    return bus;
  }
}

// ---------------------------------------------------------------------------

/**
 * The DLQ ERROR_CODE and retry decision for an SQS failure. EventBridge retries
 * 5xx, throttling and transient network errors; a missing queue, a missing
 * permission or another 4xx goes to the DLQ without retry.
 */
function classifySqsError(error: unknown): DeliveryFailure {
  const message = errorMessage(error);
  const name = isRecord(error) && typeof error.name === 'string' ? error.name : 'Error';
  const metadata = isRecord(error) && isRecord(error.$metadata) ? error.$metadata : {};
  const status = typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
  if (name === 'QueueDoesNotExist' || name.endsWith('NonExistentQueue')) {
    return { code: 'NO_RESOURCE', message, retryable: false };
  }
  if (/AccessDenied|KmsAccessDenied/.test(name) || status === 403)
    return { code: 'NO_PERMISSIONS', message, retryable: false };
  if (status === 429 || /Throttl|RequestThrottled|OverLimit/.test(name))
    return { code: 'THROTTLING', message, retryable: true };
  if (status !== undefined && status >= 500) return { code: 'INTERNAL_ERROR', message, retryable: true };
  if (status !== undefined) return { code: 'INVALID_PARAMETER', message, retryable: false };
  if (name === 'AbortError') return { code: 'TIMEOUT', message, retryable: false };
  return { code: 'CONNECTION_FAILURE', message, retryable: true };
}

/** arn:aws:sqs:<region>:<account>:<name> from http://sqs.<region>.localhost:<port>/<account>/<name>. */
function queueArnFromUrl(queueUrl: string, address: BusAddress): string | undefined {
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch {
    return undefined;
  }
  const [account, name, ...rest] = url.pathname.split('/').filter((part) => part !== '');
  if (account === undefined || name === undefined || rest.length > 0) return undefined;
  const region = /^sqs\.([a-z0-9-]+)\./.exec(url.hostname)?.[1] ?? address.region;
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

function readJsonBody(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        reject(
          new ServiceError('RequestEntityTooLarge', `Request body over ${MAX_REQUEST_BODY_BYTES} bytes`, 413),
        );
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        resolve({});
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new ServiceError('SerializationException', 'Request body is not valid JSON'));
      }
    });
  });
}

function send(
  response: ServerResponse,
  status: number,
  requestId: string,
  body: unknown,
  errorType?: string,
): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': requestId,
    ...(errorType === undefined ? {} : { 'x-amzn-ErrorType': errorType }),
  });
  response.end(text);
}

function stringAttribute(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A draw in [0, 1) that depends only on (seed, a, b), not on the order of calls. */
function keyedRandom(seed: number, a: number, b: number): number {
  return seededRandom(seed ^ Math.imul(a + 1, 0x85ebca6b) ^ Math.imul(b + 1, 0xc2b2ae35))();
}

function normalizeFaults(faults: EventBusFaults): Required<EventBusFaults> {
  return {
    putEventsEntryFailureRate: rate('putEventsEntryFailureRate', faults.putEventsEntryFailureRate),
    throttleRate: rate('throttleRate', faults.throttleRate),
    targetDeliveryFailureRate: rate('targetDeliveryFailureRate', faults.targetDeliveryFailureRate),
    seed: integerIn('seed', faults.seed ?? 1, 0, 0xffffffff),
  };
}

function rate(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!(value >= 0 && value <= 1))
    throw new EventBusEmulatorError('InvalidFaults', `${name} must be between 0 and 1 (given ${value})`);
  return value;
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new EventBusEmulatorError(
      'InvalidParameter',
      `${name} must be an integer between ${min} and ${max} (given ${value})`,
    );
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  return integerIn(name, value, 1, Number.MAX_SAFE_INTEGER);
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

/** A JSON 1.1 timestamp: epoch seconds (what the SDK sends), or an ISO 8601 string. */
function requireTimestamp(value: unknown, name: string): Date {
  const date = parseJsonTimestamp(value);
  if (date === undefined) {
    throw new ServiceError(
      'ValidationException',
      `Parameter ${name} is not valid (given ${JSON.stringify(value)}).`,
    );
  }
  return date;
}

function nowSeconds(): number {
  return Date.now() / 1000;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withListenerCap(controller: AbortController): AbortController {
  setMaxListeners(10_000, controller.signal);
  return controller;
}
