import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { SERVICES } from '../../contract/metrics';
import { createAwsRelay } from './aws-relay';

const logger = new Logger({ serviceName: SERVICES.relay });
const tracer = new Tracer({ serviceName: SERVICES.relay });
const { relay, relayMetrics } = createAwsRelay(logger, tracer);

/** Relay Lambda: DynamoDB stream batch → EventBridge + FIFO queues; partial batch response. */
export const handler = middy(async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const records = event.Records ?? [];
  const response = await relay.handle(records);
  logger.info('relay batch done', { records: records.length, failed: response.batchItemFailures.length });
  return response;
})
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(relayMetrics));
