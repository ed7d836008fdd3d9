import type { DynamoDBRecord } from 'aws-lambda';
import { STACK_OUTPUTS } from '../../contract/stack-outputs';
import {
  DynamoDbOutboxReader,
  EventBridgeBusPublisher,
  SqsFailureSink,
  SqsFifoPublisher,
} from '../../functions/relay/aws-adapters';
import type { EventBusPublisher, RelayPorts, RelayTelemetry } from '../../functions/relay/ports';
import { Publisher } from '../../functions/relay/publishing';
import { Relay } from '../../functions/relay/relay';
import { relayRecords, windowRecords } from '../../functions/sweeper/sweeper';
import { type CliIo, defaultSleep } from './cli-io';
import { requireOutput } from './stack-outputs';
import type { Target } from './target';

/** What a CLI run of the relay core publishes to. */
export interface CliRelayDestinations {
  /** Publish to the stack's event bus. */
  readonly bus: boolean;
  /** FIFO queue URLs to publish to. */
  readonly queueUrls: ReadonlyArray<string>;
}

/** What the relay core reported while the CLI ran it. */
export interface CliRelayCounts {
  readonly counts: Record<string, number>;
  readonly errors: string[];
}

/**
 * The relay core, run by the CLI against a target: same ordering, batching, retries, void markers
 * and failure queue as the stream-driven relay, to the destinations chosen.
 */
export function cliRelay(
  target: Target,
  destinations: CliRelayDestinations,
  io: CliIo,
  options: { readonly sleep?: (ms: number) => Promise<void> } = {},
): { relay: Relay; publisher: Publisher; ports: RelayPorts; report: CliRelayCounts } {
  const tableName = requireOutput(target.outputs, STACK_OUTPUTS.tableName, target.description);
  const report: CliRelayCounts = { counts: {}, errors: [] };
  const telemetry: RelayTelemetry = {
    count: (metric, value) => {
      report.counts[metric] = (report.counts[metric] ?? 0) + value;
    },
    publishLag: () => {},
    warn: (message, attributes) =>
      io.err(`warning: ${message}${attributes ? ` ${JSON.stringify(attributes)}` : ''}`),
    error: (message, attributes) => {
      report.errors.push(message);
      io.err(`error: ${message}${attributes ? ` ${JSON.stringify(attributes)}` : ''}`);
    },
  };
  const noBus: EventBusPublisher = { putEvents: async () => [] };
  const ports: RelayPorts = {
    outbox: new DynamoDbOutboxReader(target.dynamodb, tableName),
    eventBus: destinations.bus
      ? new EventBridgeBusPublisher(
          target.eventbridge,
          requireOutput(target.outputs, STACK_OUTPUTS.eventBusName, target.description),
        )
      : noBus,
    queues: new SqsFifoPublisher(target.sqs),
    failures: new SqsFailureSink(
      target.sqs,
      requireOutput(target.outputs, STACK_OUTPUTS.relayFailureQueueUrl, target.description),
    ),
    heartbeat: { probeSeen: async () => {} },
    telemetry,
    ...(options.sleep ? { sleep: options.sleep } : {}),
  };
  const sleep = options.sleep ?? defaultSleep;
  return {
    relay: new Relay(ports, { queueUrls: destinations.queueUrls }),
    publisher: new Publisher(
      ports,
      { maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 2000, concurrency: 4 },
      sleep,
      Math.random,
    ),
    ports,
    report,
  };
}

/**
 * Runs outbox items (plain attributes) through the relay core as the sweeper does (each aggregate
 * announced by a synthetic state record), 100 records a call; returns the records it reported failed.
 */
export function publishItems(
  relay: Relay,
  items: ReadonlyArray<Record<string, unknown>>,
): Promise<DynamoDBRecord[]> {
  return relayRecords(relay, windowRecords(items), 100);
}
