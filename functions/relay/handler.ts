import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createAwsRelay } from './aws-relay';

const logger = new Logger();
const metrics = new Metrics();
const { relay } = createAwsRelay(logger, metrics);

/** Relay Lambda: DynamoDB stream batch of outbox INSERTs → EventBridge + FIFO queues; partial batch response. */
export const handler = middy(async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const response = await relay.handle(event.Records ?? []);
  logger.info('relay batch done', {
    records: event.Records?.length ?? 0,
    failed: response.batchItemFailures.length,
  });
  return response;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
