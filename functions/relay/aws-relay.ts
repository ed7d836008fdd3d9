import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../../contract/env';
import { RELAY_METRICS, SERVICES } from '../../contract/metrics';
import { requireEnv, requireStringListEnv } from '../shared/env';
import {
  DynamoDbHeartbeatStore,
  DynamoDbOutboxReader,
  EventBridgeBusPublisher,
  SqsFailureSink,
  SqsFifoPublisher,
} from './aws-adapters';
import type { RelayPorts, RelayTelemetry } from './ports';
import { Relay } from './relay';

/** Relay telemetry through Powertools: counts and lag as metrics, warnings and errors as logs. */
export function powertoolsTelemetry(logger: Logger, metrics: Metrics): RelayTelemetry {
  return {
    count: (metric, value) => {
      if (value > 0) metrics.addMetric(RELAY_METRICS[metric], MetricUnit.Count, value);
    },
    publishLag: (ms) => metrics.addMetric(RELAY_METRICS.publishLag, MetricUnit.Milliseconds, ms),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  };
}

/** The relay core wired to AWS, and what its callers share with it. */
export interface AwsRelay {
  readonly relay: Relay;
  readonly ports: RelayPorts;
  /**
   * The relay core's metrics, always with `service = outbox-relay`, whichever function runs the
   * core (the relay, or the sweeper re-publishing): the relay's alarms see every publish path.
   * Flush it with the function's own (`logMetrics([metrics, relayMetrics])`).
   */
  readonly relayMetrics: Metrics;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
}

/**
 * The relay core wired to AWS from the function's environment, its clients wrapped for tracing.
 * Shared by the relay (stream-driven) and the sweeper (re-publishing what the stream missed).
 */
export function createAwsRelay(logger: Logger, tracer: Tracer): AwsRelay {
  const tableName = requireEnv(ENV.tableName);
  const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
  const sqs = tracer.captureAWSv3Client(new SQSClient({}));
  const eventBridge = tracer.captureAWSv3Client(new EventBridgeClient({}));
  const relayMetrics = new Metrics({ serviceName: SERVICES.relay });
  const ports: RelayPorts = {
    outbox: new DynamoDbOutboxReader(dynamodb, tableName),
    eventBus: new EventBridgeBusPublisher(eventBridge, requireEnv(ENV.eventBusName)),
    queues: new SqsFifoPublisher(sqs),
    failures: new SqsFailureSink(sqs, requireEnv(ENV.relayFailureQueueUrl)),
    heartbeat: new DynamoDbHeartbeatStore(dynamodb, tableName),
    telemetry: powertoolsTelemetry(logger, relayMetrics),
  };
  return {
    relay: new Relay(ports, { queueUrls: requireStringListEnv(ENV.orderedQueueUrls) }),
    ports,
    relayMetrics,
    dynamodb,
    sqs,
    tableName,
  };
}
