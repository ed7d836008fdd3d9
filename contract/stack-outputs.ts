import { consumerConstructId } from './consumer-name';

/**
 * Stack output keys. The stack emits them and the tools read them through these names and
 * {@link consumerOutputKey}, so no tool parses key suffixes.
 */
export const STACK_OUTPUTS = {
  tableName: 'TableName',
  idempotencyTableName: 'IdempotencyTableName',
  eventBusName: 'EventBusName',
  eventArchiveName: 'EventArchiveName',
  relayFunctionName: 'RelayFunctionName',
  relayFailureQueueUrl: 'RelayFailureQueueUrl',
  failureBucketName: 'FailureBucketName',
  sweeperFunctionName: 'SweeperFunctionName',
  orderApiFunctionName: 'OrderApiFunctionName',
  orderApiUrl: 'OrderApiUrl',
  alarmTopicArn: 'AlarmTopicArn',
  dashboardName: 'DashboardName',
} as const;

/** What every consumer outputs; unordered consumers also their EventBridge target's dead-letter queue. */
export const CONSUMER_OUTPUTS = {
  queueUrl: 'QueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  functionName: 'FunctionName',
  targetDeadLetterQueueUrl: 'TargetDeadLetterQueueUrl',
} as const;

/** One of a consumer's outputs. */
export type ConsumerOutput = keyof typeof CONSUMER_OUTPUTS;

/** The output key of one of a consumer's resources, e.g. `OrderEmailsDeadLetterQueueUrl`. */
export function consumerOutputKey(consumerName: string, output: ConsumerOutput): string {
  return `${consumerConstructId(consumerName)}${CONSUMER_OUTPUTS[output]}`;
}
