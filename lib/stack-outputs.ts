/**
 * Logical IDs of the stack outputs, so tests and scripts can find resources by name. In a module
 * of its own, without CDK imports, so that tools read it without loading the CDK.
 *
 * Each ordered and event consumer adds `<Consumer>QueueUrl`, `<Consumer>DeadLetterQueueUrl`
 * and `<Consumer>FunctionName`; event consumers also `<Consumer>TargetDeadLetterQueueUrl`.
 */
export const STACK_OUTPUTS = {
  tableName: 'TableName',
  idempotencyTableName: 'IdempotencyTableName',
  eventBusName: 'EventBusName',
  eventArchiveName: 'EventArchiveName',
  relayFunctionName: 'RelayFunctionName',
  relayFailureQueueUrl: 'RelayFailureQueueUrl',
  sweeperFunctionName: 'SweeperFunctionName',
  orderApiFunctionName: 'OrderApiFunctionName',
  orderApiUrl: 'OrderApiUrl',
  orderProjectionQueueUrl: 'OrderProjectionQueueUrl',
  orderProjectionDeadLetterQueueUrl: 'OrderProjectionDeadLetterQueueUrl',
  orderProjectionFunctionName: 'OrderProjectionFunctionName',
  orderActivityQueueUrl: 'OrderActivityQueueUrl',
  orderActivityDeadLetterQueueUrl: 'OrderActivityDeadLetterQueueUrl',
  orderActivityTargetDeadLetterQueueUrl: 'OrderActivityTargetDeadLetterQueueUrl',
  orderActivityFunctionName: 'OrderActivityFunctionName',
  alarmTopicArn: 'AlarmTopicArn',
  dashboardName: 'DashboardName',
} as const;
