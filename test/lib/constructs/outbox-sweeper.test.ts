import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../contract/env';
import { RELAY_ITEMS } from '../../../contract/keys';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { OutboxSweeper, type OutboxSweeperProps } from '../../../lib/constructs/outbox-sweeper';
import { leadingKeysCondition, type Permission, permissionsFor, permissionsOf } from '../iam-helpers';
import {
  arnOf,
  environmentOf,
  messageOf,
  newUnbundledStack,
  pipelineBase,
  propertiesOf,
  refOf,
  thrownBy,
} from '../template-helpers';

function sweeperWith(props: Partial<OutboxSweeperProps> = {}) {
  const stack = newUnbundledStack();
  const { table, relay, failureBucket } = pipelineBase(stack);
  const sweeper = new OutboxSweeper(stack, 'Sweeper', { table, relay, ...props });
  return { stack, table, relay, failureBucket, sweeper, template: () => Template.fromStack(stack) };
}

const sorted = (permissions: Permission[]) =>
  [...permissions].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('OutboxSweeper', () => {
  it('may send to ordered queues registered with the relay after the sweeper was created', () => {
    // Arrange
    const { stack, relay, sweeper, template } = sweeperWith();

    // Act
    const queue = new Queue(stack, 'Late', { fifo: true });
    relay.addOrderedQueue(queue);

    // Assert
    const sends = permissionsFor(permissionsOf(template(), sweeper.function), 'sqs:SendMessage');
    expect(sends.map((permission) => permission.resource)).toContainEqual(arnOf(queue));
    expect(environmentOf(template(), sweeper.function)[ENV.orderedQueueUrls]).toEqual({
      'Fn::Join': ['', ['["', refOf(queue), '"]']],
    });
  });

  it('writes only the relay items, scans and queries the table, and nothing else in DynamoDB', () => {
    // Arrange
    const { table, sweeper, template } = sweeperWith();
    const relayKeys = [RELAY_ITEMS.probePk, RELAY_ITEMS.heartbeatPk, RELAY_ITEMS.lostWindowPk];

    // Act
    const dynamo = permissionsFor(permissionsOf(template(), sweeper.function), 'dynamodb:');

    // Assert
    const onTable = (action: string, condition?: unknown) => ({
      action,
      resource: arnOf(table),
      ...(condition === undefined ? {} : { condition }),
    });
    expect(sorted(dynamo)).toEqual(
      sorted([
        onTable('dynamodb:Query'),
        onTable('dynamodb:Scan'),
        onTable('dynamodb:UpdateItem', leadingKeysCondition([RELAY_ITEMS.heartbeatPk])),
        ...['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'].map(
          (action) => onTable(action, leadingKeysCondition(relayKeys)),
        ),
      ]),
    );
  });

  it('reads, keeps and deletes failure bucket objects and learns the bucket from its environment', () => {
    // Arrange
    const { failureBucket, sweeper, template } = sweeperWith();
    const bucket = arnOf(failureBucket.bucket);

    // Act
    const s3 = permissionsFor(permissionsOf(template(), sweeper.function), 's3:');

    // Assert
    const objects = { 'Fn::Join': ['', [bucket, '/*']] };
    expect(sorted(s3)).toEqual(
      sorted([
        { action: 's3:ListBucket', resource: bucket },
        { action: 's3:GetObject', resource: objects },
        { action: 's3:PutObject', resource: objects },
        { action: 's3:DeleteObject', resource: objects },
      ]),
    );
    expect(environmentOf(template(), sweeper.function)[ENV.failureBucketName]).toEqual(
      refOf(failureBucket.bucket),
    );
  });

  it('runs at its interval, which it passes to the function in seconds, with a timeout under the interval', () => {
    // Act
    const { sweeper, template } = sweeperWith({ interval: Duration.minutes(7) });

    // Assert
    expect(propertiesOf(template(), sweeper.schedule)).toMatchObject({
      ScheduleExpression: 'rate(7 minutes)',
      Targets: [{ Arn: arnOf(sweeper.function), RetryPolicy: { MaximumRetryAttempts: 0 } }],
    });
    expect(environmentOf(template(), sweeper.function)[ENV.sweepIntervalSeconds]).toBe('420');
    expect(propertiesOf(template(), sweeper.function).Timeout).toBe(120);
  });

  it('keeps the default timeout 10 seconds under a one-minute interval', () => {
    // Act
    const { sweeper, template } = sweeperWith({ interval: Duration.minutes(1) });

    // Assert
    expect(propertiesOf(template(), sweeper.function).Timeout).toBe(50);
  });

  it('is never retried asynchronously: a failed run waits for the next schedule', () => {
    // Act
    const { sweeper, template } = sweeperWith({ interval: Duration.minutes(10) });

    // Assert
    template().hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: refOf(sweeper.function),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 600,
    });
  });

  it.each<[string, Partial<OutboxSweeperProps>, RegExp]>([
    [
      'an interval that is not whole minutes',
      { interval: Duration.seconds(90) },
      /interval must be whole minutes \(given 1 minute 30 seconds\)/,
    ],
    [
      'an interval above an hour',
      { interval: Duration.hours(2) },
      /interval must be between 1 minute and 1 hour \(given 2 hours\)/,
    ],
    [
      'a timeout as long as the interval',
      { interval: Duration.minutes(2), timeout: Duration.minutes(2) },
      /timeout must be shorter than interval \(given timeout 2 minutes, interval 2 minutes\)/,
    ],
    [
      'a timeout beyond the Lambda maximum',
      { interval: Duration.hours(1), timeout: Duration.minutes(16) },
      /timeout must be between 1 second and 15 minutes \(given 16 minutes\)/,
    ],
  ])('rejects %s with a ConstructPropsError', (_case, props, message) => {
    // Act
    const error = thrownBy(() => sweeperWith(props));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});
