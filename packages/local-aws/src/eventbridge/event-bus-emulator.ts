/**
 * A local EventBridge: an HTTP server on 127.0.0.1 that speaks the service's
 * wire protocol (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Operation>`), so the
 * unchanged `EventBridgeClient` of the relay talks to it through
 * `AWS_ENDPOINT_URL_EVENTBRIDGE` or the client's `endpoint` option.
 *
 * This file is the entry point: the public types, {@link startEventBusEmulator}
 * and PutEvents. The parts live along their seams:
 * - `wire-protocol.ts`: HTTP server, JSON 1.1 parsing, serialisation, errors;
 * - `put-events.ts`: what PutEvents accepts (request and entry checks, sizes);
 * - `routing.ts`: buses, rules, targets, pattern matching, ListRules, DescribeEventBus;
 * - `delivery.ts`: retries with backoff, target DLQs with EventBridge's attributes;
 * - `archives.ts`: CreateArchive, DescribeArchive, StartReplay, DescribeReplay;
 * - `test-event-pattern.ts`: TestEventPattern, with the engine of `event-pattern.ts`.
 *
 * PutEvents: request-level ValidationException for 0 or more than 10 entries
 * and for entries over the size limit together; per-entry failures
 * (InvalidArgument, MalformedDetail, NotAuthorizedForSourceException) in
 * `Entries[i]` and `FailedEntryCount`; an `EventId` for each accepted entry.
 * After the response, as EventBridge does, each accepted event is routed, with
 * the entry's TraceHeader (when X-Ray would accept it) for the targets.
 * Every accepted event of a bus is also kept in memory (`archive()`), for tests.
 *
 * Deliberate differences from AWS, for a local runtime:
 * - An entry for a bus that does not exist fails with InvalidArgument. AWS has
 *   been observed to answer such entries with an EventId and drop them
 *   (aws/aws-cli#9186); `acceptEventsForUnknownBus` restores that.
 * - The default MaximumRetryAttempts is 3 (AWS: 185 over 24 hours) with delays
 *   of about 100 ms doubling up to 2 s, so failures surface in seconds.
 * - Not emulated: signature checks, cross-account or cross-region buses, input
 *   transformers, targets other than SQS, scheduled rules, the 1,000-level JSON
 *   nesting limit, pagination of ListRules, CancelReplay, ListArchives,
 *   ListReplays, UpdateArchive and DeleteArchive.
 */
import { randomUUID } from 'node:crypto';
import { seededRandom } from '../faults';
import { ArchiveStore } from './archives';
import { type DeliveryAuthorizer, type DeliveryJob, MAX_RETRY_DELAY_MS, TargetDelivery } from './delivery';
import { EventBusEmulatorError, integerIn, rate, ServiceError } from './errors';
import {
  checkPutEventsRequest,
  DEFAULT_MAX_ENTRIES_BYTES,
  type EventBridgeEvent,
  validatePutEventsEntry,
} from './put-events';
import { EventBusRegistry } from './routing';
import { testEventPattern } from './test-event-pattern';
import { JsonWireServer, type OperationHandler, type OperationResult } from './wire-protocol';

export type { DeliveryAuthorizer } from './delivery';
export { EventBusEmulatorError } from './errors';
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
  /** Deliveries the target queue's policy refused (NO_PERMISSIONS, not retried); only with an authorizer. */
  readonly refusedDeliveries: number;
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
   * Checks every later send to a target queue or DLQ against the queue's resource policy, as
   * EventBridge's sends are (see `delivery.ts`); undefined sends everything again.
   */
  setDeliveryAuthorizer(authorizer: DeliveryAuthorizer | undefined): void;
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
  if (typeof options?.sqs?.endpoint !== 'string' || options.sqs.endpoint === '') {
    throw new EventBusEmulatorError(
      'InvalidParameter',
      `options.sqs.endpoint must be the SQS emulator's URL (given ${JSON.stringify(options?.sqs?.endpoint)})`,
    );
  }
  const emulator = new LocalEventBridge(options);
  await emulator.listen(options.port ?? 0);
  return emulator;
}

interface PutEventsCounters {
  requests: number;
  throttledRequests: number;
  rejectedRequests: number;
  entriesAccepted: number;
  entriesFailed: Record<string, number>;
}

class LocalEventBridge implements EventBusEmulator {
  private readonly address: { readonly region: string; readonly accountId: string };
  private readonly buses: EventBusRegistry;
  private readonly delivery: TargetDelivery;
  private readonly archives: ArchiveStore;
  private readonly server: JsonWireServer;
  private readonly log: (message: string) => void;
  private readonly maxEntriesBytes: number;
  private readonly stopTimeoutMs: number;
  private readonly acceptEventsForUnknownBus: boolean;
  private readonly counts: PutEventsCounters = {
    requests: 0,
    throttledRequests: 0,
    rejectedRequests: 0,
    entriesAccepted: 0,
    entriesFailed: {},
  };
  private faults: Required<EventBusFaults> = normalizeFaults({});
  private throttleRandom: () => number = seededRandom(1);
  private entryRandom: () => number = seededRandom(1);
  private stopping: Promise<void> | undefined;

  constructor(options: EventBusEmulatorOptions) {
    this.address = { region: options.region ?? 'us-east-1', accountId: options.accountId ?? '000000000000' };
    this.log = options.log ?? (() => {});
    this.maxEntriesBytes = integerIn(
      'maxEntriesBytes',
      options.maxEntriesBytes ?? DEFAULT_MAX_ENTRIES_BYTES,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.stopTimeoutMs = integerIn('stopTimeoutMs', options.stopTimeoutMs ?? 2_000, 0, 60_000);
    this.acceptEventsForUnknownBus = options.acceptEventsForUnknownBus ?? false;
    this.delivery = new TargetDelivery({
      sqsEndpoint: options.sqs.endpoint,
      region: this.address.region,
      retryBaseDelayMs: integerIn('retryBaseDelayMs', options.retryBaseDelayMs ?? 100, 1, MAX_RETRY_DELAY_MS),
      log: this.log,
    });
    this.buses = new EventBusRegistry({
      address: this.address,
      defaultMaximumRetryAttempts: integerIn(
        'defaultMaximumRetryAttempts',
        options.defaultMaximumRetryAttempts ?? 3,
        0,
        185,
      ),
      nextSequence: () => this.delivery.nextSequence(),
    });
    this.archives = new ArchiveStore(this.address, this.buses, this.delivery);
    this.setFaults(options.faults ?? {});
    this.server = new JsonWireServer(this.operations(), () => {
      this.counts.requests += 1;
    });
  }

  get endpoint(): string {
    return this.server.endpoint;
  }

  get port(): number {
    return this.server.port;
  }

  async listen(port: number): Promise<void> {
    await this.server.listen(port);
    this.log(`event bus emulator ready at ${this.endpoint}`);
  }

  get counters(): EventBusCounters {
    const delivered = this.delivery.counters;
    return {
      ...this.counts,
      entriesFailed: { ...this.counts.entriesFailed },
      ...delivered,
      deliveries: { ...delivered.deliveries },
    };
  }

  createEventBus(name: string): void {
    this.buses.createEventBus(name);
  }

  putRule(rule: LocalRule): void {
    this.buses.putRule(rule);
  }

  archive(eventBusName: string): ArchivedEvent[] {
    return structuredClone(this.buses.requireBus(eventBusName).archive);
  }

  createArchive(archive: LocalArchive): string {
    return this.archives.createArchive(archive);
  }

  setFaults(faults: EventBusFaults): void {
    this.faults = normalizeFaults(faults);
    // Independent streams: changing one rate does not shift the draws of another fault.
    this.throttleRandom = seededRandom(this.faults.seed);
    this.entryRandom = seededRandom(this.faults.seed ^ 0x9e3779b9);
    this.delivery.setFaults(this.faults.targetDeliveryFailureRate, this.faults.seed);
  }

  setDeliveryAuthorizer(authorizer: DeliveryAuthorizer | undefined): void {
    this.delivery.setAuthorizer(authorizer);
  }

  waitForIdle(timeoutMs = 10_000): Promise<void> {
    return this.delivery.waitForIdle(timeoutMs);
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    await this.server.close();
    await this.delivery.shutdown(this.stopTimeoutMs);
    this.log(`event bus emulator at ${this.endpoint} stopped`);
  }

  private operations(): Map<string, OperationHandler> {
    const answer =
      (handle: (body: unknown) => unknown): OperationHandler =>
      (body) => ({ response: handle(body) });
    return new Map<string, OperationHandler>([
      ['PutEvents', (body) => this.putEvents(body)],
      ['ListRules', answer((body) => this.buses.listRules(body))],
      ['DescribeEventBus', answer((body) => this.buses.describeEventBus(body))],
      ['CreateArchive', answer((body) => this.archives.createArchiveRequest(body))],
      ['DescribeArchive', answer((body) => this.archives.describeArchive(body))],
      [
        'StartReplay',
        (body) => {
          const { response, run } = this.archives.startReplay(body);
          return { response, afterResponse: run };
        },
      ],
      ['DescribeReplay', answer((body) => this.archives.describeReplay(body))],
      ['TestEventPattern', answer(testEventPattern)],
    ]);
  }

  private putEvents(body: unknown): OperationResult {
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
    const routed: DeliveryJob[] = [];
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
      routed.push(...this.accept(checked.eventBusName, checked.event, checked.traceHeader, receivedAt));
      return { EventId: checked.event.id };
    });
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    return {
      response: { FailedEntryCount: failed, Entries: results },
      // Counted as pending before the response, so waitForIdle() right after PutEvents sees them.
      afterResponse: this.delivery.reserve(routed),
    };
  }

  /** Archives an accepted event and routes it; an entry for an unknown bus (when accepted) goes nowhere. */
  private accept(
    eventBusName: string,
    event: EventBridgeEvent,
    traceHeader: string | undefined,
    receivedAt: Date,
  ): DeliveryJob[] {
    const bus = this.buses.get(eventBusName);
    if (bus === undefined) return [];
    const archived = { event, receivedAt: receivedAt.toISOString() };
    bus.archive.push(archived);
    this.archives.record(bus.name, archived);
    return this.buses.route(bus, event, receivedAt.getTime(), traceHeader);
  }

  private failEntry(errorCode: string, errorMessage: string): { ErrorCode: string; ErrorMessage: string } {
    this.counts.entriesFailed[errorCode] = (this.counts.entriesFailed[errorCode] ?? 0) + 1;
    return { ErrorCode: errorCode, ErrorMessage: errorMessage };
  }
}

function normalizeFaults(faults: EventBusFaults): Required<EventBusFaults> {
  return {
    putEventsEntryFailureRate: rate('putEventsEntryFailureRate', faults.putEventsEntryFailureRate),
    throttleRate: rate('throttleRate', faults.throttleRate),
    targetDeliveryFailureRate: rate('targetDeliveryFailureRate', faults.targetDeliveryFailureRate),
    seed: integerIn('seed', faults.seed ?? 1, 0, 0xffffffff),
  };
}
