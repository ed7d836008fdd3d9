/**
 * Buses, rules and targets of the local EventBridge, and routing: which
 * targets an event goes to. As EventBridge does, an event goes to every target
 * of every rule of its bus whose pattern matches (the Event Ruler-compatible
 * matcher of `event-pattern.ts`). A FIFO target gets the rule's MessageGroupId
 * and no deduplication id, so, as on AWS, the FIFO queue needs content-based
 * deduplication. Also answers ListRules and DescribeEventBus.
 */
import type { DeliveryJob, DeliveryTarget } from './delivery';
import { EventBusEmulatorError, integerIn, isRecord, ServiceError } from './errors';
import type { ArchivedEvent, LocalRule, LocalRuleTarget } from './event-bus-emulator';
import { compileEventPattern } from './event-pattern';
import {
  type BusAddress,
  type EventBridgeEvent,
  eventBusArn,
  resolveEventBusName,
  ruleArn,
} from './put-events';

/** A rule with its pattern compiled and its targets checked. */
export interface CompiledRule {
  readonly name: string;
  readonly arn: string;
  readonly eventBusName: string;
  readonly patternJson: string;
  readonly matches: (event: unknown) => boolean;
  readonly targets: ReadonlyArray<DeliveryTarget & { readonly id: string }>;
}

/** A bus: its rules and every event it accepted. */
export interface EventBus {
  readonly name: string;
  readonly createdAt: Date;
  readonly rules: Map<string, CompiledRule>;
  readonly archive: ArchivedEvent[];
}

/** How the registry numbers deliveries and what retry policy targets get by default. */
export interface RoutingOptions {
  readonly address: BusAddress;
  readonly defaultMaximumRetryAttempts: number;
  /** The next number of the delivery sequence (the key of injected delivery faults). */
  readonly nextSequence: () => number;
}

const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400;
const MAX_TARGETS_PER_RULE = 5;
const NAME_PATTERN = /^[.\-_A-Za-z0-9]{1,64}$/;
const BUS_NAME_PATTERN = /^[/.\-_A-Za-z0-9]{1,256}$/;

/** The buses of the emulator (`default` always exists), their rules, and routing. */
export class EventBusRegistry {
  private readonly buses = new Map<string, EventBus>();

  constructor(private readonly options: RoutingOptions) {
    this.buses.set('default', newBus('default'));
  }

  has(name: string): boolean {
    return this.buses.has(name);
  }

  get(name: string): EventBus | undefined {
    return this.buses.get(name);
  }

  /** @throws EventBusEmulatorError `ResourceAlreadyExists` or `InvalidParameter` */
  createEventBus(name: string): void {
    if (!BUS_NAME_PATTERN.test(name)) {
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `event bus name must match ${BUS_NAME_PATTERN} (given '${name}')`,
      );
    }
    if (this.buses.has(name))
      throw new EventBusEmulatorError('ResourceAlreadyExists', `Event bus ${name} already exists.`);
    this.buses.set(name, newBus(name));
  }

  /** @throws EventBusEmulatorError `ResourceNotFound` */
  requireBus(name: string): EventBus {
    const bus = this.buses.get(name);
    if (bus === undefined)
      throw new EventBusEmulatorError('ResourceNotFound', `Event bus ${name} does not exist.`);
    return bus;
  }

  /** A bus named by name or ARN in a request, or the ResourceNotFoundException EventBridge answers. */
  requireBusForRequest(nameOrArn: unknown): EventBus {
    const name = resolveEventBusName(nameOrArn, this.options.address);
    const bus = name === undefined ? undefined : this.buses.get(name);
    if (bus === undefined) {
      throw new ServiceError(
        'ResourceNotFoundException',
        `Event bus ${name ?? String(nameOrArn)} does not exist.`,
      );
    }
    return bus;
  }

  /**
   * Creates or replaces (as PutRule + PutTargets) a rule of an existing bus.
   * @throws EventPatternError when the pattern is not well formed
   * @throws EventBusEmulatorError `ResourceNotFound` (bus) or `InvalidParameter`
   */
  putRule(rule: LocalRule): void {
    const bus = this.requireBus(rule.eventBusName);
    if (!NAME_PATTERN.test(rule.name)) {
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `rule name must match ${NAME_PATTERN} (given '${rule.name}')`,
      );
    }
    const matches = compileEventPattern(rule.eventPattern);
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
      arn: ruleArn(rule.name, bus.name, this.options.address),
      eventBusName: bus.name,
      patternJson: patternText(rule.eventPattern),
      matches,
      targets,
    });
  }

  /**
   * One delivery job per target of every rule of `bus` that `event` matches
   * (and `ruleFilter` keeps), carrying the entry's trace header.
   */
  route(
    bus: EventBus,
    event: EventBridgeEvent,
    acceptedAt: number,
    traceHeader: string | undefined,
    ruleFilter: (rule: CompiledRule) => boolean = () => true,
  ): DeliveryJob[] {
    const jobs: DeliveryJob[] = [];
    const body = JSON.stringify(event);
    for (const rule of bus.rules.values()) {
      if (!ruleFilter(rule) || !rule.matches(event)) continue;
      for (const target of rule.targets) {
        jobs.push({
          sequence: this.options.nextSequence(),
          event,
          body,
          ruleArn: rule.arn,
          target,
          acceptedAt,
          traceHeader,
        });
      }
    }
    return jobs;
  }

  /** AWSEvents.ListRules (NamePrefix honoured, no pagination). */
  listRules(body: unknown): unknown {
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

  /** AWSEvents.DescribeEventBus. */
  describeEventBus(body: unknown): unknown {
    const bus = this.requireBusForRequest(isRecord(body) ? body.Name : undefined);
    return {
      Name: bus.name,
      Arn: eventBusArn(bus.name, this.options.address),
      CreationTime: bus.createdAt.getTime() / 1000,
    };
  }

  private compileTarget(rule: LocalRule, target: LocalRuleTarget): CompiledRule['targets'][number] {
    const where = `target '${target.id}' of rule ${rule.name}`;
    if (!NAME_PATTERN.test(target.id)) {
      throw new EventBusEmulatorError('InvalidParameter', `${where}: id must match ${NAME_PATTERN}`);
    }
    const queueArn = this.requireQueueArn(where, 'queueUrl', target.queueUrl);
    if (target.queueUrl.endsWith('.fifo') && (target.messageGroupId ?? '') === '') {
      // PutTargets refuses a FIFO queue target without SqsParameters.MessageGroupId.
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `${where}: a FIFO queue target needs a messageGroupId`,
      );
    }
    let deadLetterQueueArn: string | undefined;
    if (target.deadLetterQueueUrl !== undefined) {
      if (target.deadLetterQueueUrl.endsWith('.fifo')) {
        throw new EventBusEmulatorError(
          'InvalidParameter',
          `${where}: an EventBridge DLQ must be a standard queue (given '${target.deadLetterQueueUrl}')`,
        );
      }
      deadLetterQueueArn = this.requireQueueArn(where, 'deadLetterQueueUrl', target.deadLetterQueueUrl);
    }
    return {
      id: target.id,
      key: `${rule.eventBusName}/${rule.name}/${target.id}`,
      arn: queueArn,
      queueUrl: target.queueUrl,
      deadLetterQueueUrl: target.deadLetterQueueUrl,
      deadLetterQueueArn,
      maximumRetryAttempts: integerIn(
        `${where}: maximumRetryAttempts`,
        target.maximumRetryAttempts ?? this.options.defaultMaximumRetryAttempts,
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

  private requireQueueArn(where: string, field: string, queueUrl: string): string {
    const arn = queueArnFromUrl(queueUrl, this.options.address);
    if (arn === undefined) {
      throw new EventBusEmulatorError(
        'InvalidParameter',
        `${where}: ${field} is not an SQS queue URL (given '${queueUrl}')`,
      );
    }
    return arn;
  }
}

/** The pattern as JSON text, as CloudFormation and ListRules hold it. */
export function patternText(pattern: unknown): string {
  return typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
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

function newBus(name: string): EventBus {
  return { name, createdAt: new Date(), rules: new Map(), archive: [] };
}
