/**
 * Archives and replays of the local EventBridge ("Archiving and replaying
 * events", StartReplay and DescribeReplay API references):
 *
 * - CreateArchive (or `createArchive()`) keeps the bus's events that match the
 *   archive's pattern from then on, except replayed ones (EventBridge's managed
 *   archive rule excludes events with a `replay-name`).
 * - StartReplay re-routes the archived events whose `time` is in
 *   [EventStartTime, EventEndTime) through the rules of the archive's bus
 *   (only the rules in Destination.FilterArns, when given), with a top-level
 *   `replay-name` set to the replay's name and everything else, `id` and `time`
 *   included, as archived. DescribeReplay reports STARTING, RUNNING, then
 *   COMPLETED (or CANCELLED when the emulator stops first).
 *
 * Local differences: a replay runs at once, in event-time order, and is
 * COMPLETED only when every replayed event reached its targets (or their
 * DLQs); AWS replays minute by minute, asks to wait about 10 minutes before
 * replaying recent events, and reports COMPLETED when the events were sent.
 * Retention is not applied.
 */
import type { TargetDelivery } from './delivery';
import {
  EventBusEmulatorError,
  errorMessage,
  isRecord,
  requireString,
  requireTimestamp,
  ServiceError,
} from './errors';
import type { ArchivedEvent, LocalArchive } from './event-bus-emulator';
import { compileEventPattern } from './event-pattern';
import { type BusAddress, type EventBridgeEvent, eventBusArn, resolveEventBusName } from './put-events';
import { type CompiledRule, type EventBusRegistry, patternText } from './routing';

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

const ARCHIVE_NAME_PATTERN = /^[.\-_A-Za-z0-9]{1,48}$/;
const REPLAY_NAME_PATTERN = /^[.\-_A-Za-z0-9]{1,64}$/;

/** The archives and replays of one emulator. */
export class ArchiveStore {
  private readonly archives = new Map<string, Archive>();
  private readonly replays = new Map<string, Replay>();

  constructor(
    private readonly address: BusAddress,
    private readonly buses: EventBusRegistry,
    private readonly delivery: TargetDelivery,
  ) {}

  /**
   * Creates an archive of an existing bus; returns its ARN.
   * @throws EventPatternError when the pattern is not well formed
   * @throws EventBusEmulatorError `ResourceAlreadyExists`, `ResourceNotFound` (bus) or `InvalidParameter`
   */
  createArchive(archive: LocalArchive): string {
    const bus = this.buses.requireBus(archive.eventBusName);
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
      patternJson: hasPattern ? patternText(pattern) : undefined,
      matches: hasPattern ? compileEventPattern(pattern) : () => true,
      createdAt: new Date(),
      events: [],
    });
    return arn;
  }

  /** Keeps an event the bus accepted in every archive of that bus whose pattern it matches. */
  record(eventBusName: string, archived: ArchivedEvent): void {
    for (const archive of this.archives.values()) {
      if (archive.eventBusName === eventBusName && archive.matches(archived.event))
        archive.events.push(archived);
    }
  }

  /** AWSEvents.CreateArchive. */
  createArchiveRequest(body: unknown): unknown {
    const input = isRecord(body) ? body : {};
    const bus = this.buses.requireBusForRequest(input.EventSourceArn);
    const name = requireString(input.ArchiveName, 'ArchiveName');
    try {
      const arn = this.createArchive({ name, eventBusName: bus.name, eventPattern: input.EventPattern });
      return { ArchiveArn: arn, State: 'ENABLED', CreationTime: Date.now() / 1000 };
    } catch (error) {
      if (error instanceof EventBusEmulatorError) {
        const code =
          error.code === 'ResourceAlreadyExists' ? 'ResourceAlreadyExistsException' : 'ValidationException';
        throw new ServiceError(code, error.message);
      }
      throw new ServiceError('InvalidEventPatternException', errorMessage(error));
    }
  }

  /** AWSEvents.DescribeArchive. */
  describeArchive(body: unknown): unknown {
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

  /** AWSEvents.StartReplay: answers STARTING; the replay runs after the response. */
  startReplay(body: unknown): { response: unknown; run: () => void } {
    const input = isRecord(body) ? body : {};
    const name = requireString(input.ReplayName, 'ReplayName');
    if (!REPLAY_NAME_PATTERN.test(name)) {
      throw new ServiceError(
        'ValidationException',
        `ReplayName must match ${REPLAY_NAME_PATTERN} (given '${name}')`,
      );
    }
    if (this.replays.has(name))
      throw new ServiceError('ResourceAlreadyExistsException', `Replay ${name} already exists.`);
    const replay = this.newReplay(name, input);
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

  /** AWSEvents.DescribeReplay. */
  describeReplay(body: unknown): unknown {
    const name = isRecord(body) ? body.ReplayName : undefined;
    const replay = typeof name === 'string' ? this.replays.get(name) : undefined;
    if (replay === undefined)
      throw new ServiceError('ResourceNotFoundException', `Replay ${String(name)} does not exist.`);
    const seconds = (date: Date) => date.getTime() / 1000;
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

  private newReplay(name: string, input: Record<string, unknown>): Replay {
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
    return {
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
  }

  private async runReplay(replay: Replay): Promise<void> {
    const bus = this.buses.get(replay.archive.eventBusName);
    replay.state = 'RUNNING';
    replay.stateReason = 'Replay is running.';
    const selected = this.selectEvents(replay);
    const filter = replay.destination.FilterArns;
    const ruleFilter = filter === undefined ? undefined : (rule: CompiledRule) => filter.includes(rule.arn);
    const settled: Array<Promise<void>> = [];
    for (const { event } of selected) {
      if (bus === undefined || this.delivery.abandoned) break;
      const replayed: ReplayedEvent = { ...structuredClone(event), 'replay-name': replay.name };
      // Replays carry no trace header: archives do not keep it (EventBridge X-Ray integration).
      settled.push(
        this.delivery.deliverNow(this.buses.route(bus, replayed, Date.now(), undefined, ruleFilter)),
      );
      replay.eventLastReplayedTime = new Date(event.time);
    }
    await Promise.all(settled);
    replay.replayEndTime = new Date();
    if (this.delivery.abandoned || bus === undefined) {
      replay.state = 'CANCELLED';
      replay.stateReason = 'The local EventBridge stopped during the replay.';
    } else {
      replay.state = 'COMPLETED';
      replay.stateReason = `Replayed ${selected.length} events.`;
    }
  }

  /** The archived events of the replay's time range, oldest first. */
  private selectEvents(replay: Replay): ArchivedEvent[] {
    const from = replay.eventStartTime.getTime();
    const to = replay.eventEndTime.getTime();
    return replay.archive.events
      .filter(({ event }) => {
        const time = Date.parse(event.time);
        return time >= from && time < to;
      })
      .sort((a, b) => Date.parse(a.event.time) - Date.parse(b.event.time));
  }

  private requireArchive(name: unknown): Archive {
    const archive = typeof name === 'string' ? this.archives.get(name) : undefined;
    if (archive === undefined)
      throw new ServiceError('ResourceNotFoundException', `Archive ${String(name)} does not exist.`);
    return archive;
  }
}
