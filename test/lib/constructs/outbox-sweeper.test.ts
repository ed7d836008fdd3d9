import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../functions/shared/env-names';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { OutboxSweeper, type OutboxSweeperProps } from '../../../lib/constructs/outbox-sweeper';
import {
  arnOf,
  logicalId,
  newUnbundledStack,
  pipelineBase,
  roleStatements,
  statementsAllowing,
} from '../template-helpers';

function sweeperWith(props: Partial<OutboxSweeperProps> = {}) {
  const stack = newUnbundledStack();
  const { table, relay } = pipelineBase(stack);
  const sweeper = new OutboxSweeper(stack, 'Sweeper', { table, relay, ...props });
  return { stack, table, relay, sweeper };
}

describe('OutboxSweeper', () => {
  it('may send to ordered queues registered with the relay after the sweeper was created', () => {
    // Arrange
    const { stack, relay, sweeper } = sweeperWith();

    // Act
    const queue = new Queue(stack, 'Late', { fifo: true });
    relay.addOrderedQueue(queue);

    // Assert
    const template = Template.fromStack(stack);
    const statements = statementsAllowing(roleStatements(template, sweeper.function), 'sqs:SendMessage');
    expect(statements.flatMap((statement) => statement.Resource)).toContainEqual(arnOf(queue));
    const environment =
      template.toJSON().Resources[logicalId(sweeper.function)].Properties.Environment.Variables;
    expect(environment[ENV.orderedQueueUrls]).toEqual({
      'Fn::Join': ['', ['["', { Ref: logicalId(queue) }, '"]']],
    });
  });

  it('may query the pending index with no other DynamoDB access than the relay core needs', () => {
    // Arrange
    const { stack, sweeper } = sweeperWith();

    // Act
    const statements = roleStatements(Template.fromStack(stack), sweeper.function).filter((statement) =>
      JSON.stringify(statement.Action).includes('dynamodb:'),
    );

    // Assert
    expect(statements.map((statement) => statement.Action)).toEqual([
      ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      'dynamodb:Query',
    ]);
  });

  it('passes sweepAfter to the function in seconds', () => {
    // Arrange
    const { stack, sweeper } = sweeperWith({ sweepAfter: Duration.minutes(7) });

    // Act
    const environment =
      Template.fromStack(stack).toJSON().Resources[logicalId(sweeper.function)].Properties.Environment
        .Variables;

    // Assert
    expect(environment[ENV.sweepAfterSeconds]).toBe('420');
  });

  it.each([
    [{ interval: Duration.seconds(90) }, /interval must be whole minutes \(given 1 minute 30 seconds\)/],
    [{ interval: Duration.hours(2) }, /interval must be between 1 minute and 1 hour \(given 2 hours\)/],
    [
      { sweepAfter: Duration.seconds(10) },
      /sweepAfter must be between 1 minute and 6 hours \(given 10 seconds\)/,
    ],
    [
      { interval: Duration.minutes(2), timeout: Duration.minutes(3) },
      /timeout must be shorter than interval \(given timeout 3 minutes, interval 2 minutes\)/,
    ],
  ])('rejects %o', (props, message) => {
    // Act
    const create = () => sweeperWith(props);

    // Assert
    expect(create).toThrow(ConstructPropsError);
    expect(create).toThrow(message);
  });
});
