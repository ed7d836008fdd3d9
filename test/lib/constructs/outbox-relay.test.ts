import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../functions/shared/env-names';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { OrderedConsumer } from '../../../lib/constructs/ordered-consumer';
import { OutboxRelay, type OutboxRelayProps } from '../../../lib/constructs/outbox-relay';
import { OutboxTable } from '../../../lib/constructs/outbox-table';
import {
  arnOf,
  logicalId,
  newUnbundledStack,
  pipelineBase,
  roleStatements,
  statementsAllowing,
} from '../template-helpers';

function relayWith(props: Partial<OutboxRelayProps>): OutboxRelay {
  const stack = newUnbundledStack();
  const { table } = new OutboxTable(stack, 'OutboxTable');
  return new OutboxRelay(stack, 'Relay', { table, eventBus: new EventBus(stack, 'Bus'), ...props });
}

describe('OutboxRelay', () => {
  it('lists every ordered consumer queue in ORDERED_QUEUE_URLS, including consumers added after the relay', () => {
    // Arrange
    const stack = newUnbundledStack();
    const { relay, table, idempotencyTable } = pipelineBase(stack);

    // Act
    const first = new OrderedConsumer(stack, 'OrderProjection', {
      relay,
      entry: 'consumers/order-projection',
      idempotencyTable,
      table,
    });
    const second = new OrderedConsumer(stack, 'OrderAudit', {
      relay,
      entry: 'consumers/order-activity',
      consumerName: 'order-audit',
      idempotencyTable,
      table,
    });

    // Assert
    const environment =
      Template.fromStack(stack).toJSON().Resources[logicalId(relay.function)].Properties.Environment
        .Variables;
    expect(environment[ENV.orderedQueueUrls]).toEqual({
      'Fn::Join': [
        '',
        ['["', { Ref: logicalId(first.queue) }, '","', { Ref: logicalId(second.queue) }, '"]'],
      ],
    });
  });

  it('may send to every registered ordered queue', () => {
    // Arrange
    const stack = newUnbundledStack();
    const { relay } = pipelineBase(stack);
    const queues = ['A', 'B'].map((id) => new Queue(stack, id, { fifo: true }));

    // Act
    for (const queue of queues) relay.addOrderedQueue(queue);

    // Assert
    const statements = statementsAllowing(
      roleStatements(Template.fromStack(stack), relay.function),
      'sqs:SendMessage',
    );
    const resources = statements.flatMap((statement) => statement.Resource);
    expect(resources).toEqual(expect.arrayContaining(queues.map((queue) => arnOf(queue))));
  });

  it('publishes an empty JSON array when no ordered queue is registered', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const { relay } = pipelineBase(stack);

    // Assert
    const environment =
      Template.fromStack(stack).toJSON().Resources[logicalId(relay.function)].Properties.Environment
        .Variables;
    expect(environment[ENV.orderedQueueUrls]).toBe('[]');
  });

  it('rejects a batch size of 0', () => {
    // Act
    const act = () => relayWith({ batchSize: 0 });

    // Assert
    expect(act).toThrow(ConstructPropsError);
    expect(act).toThrow(/batchSize must be between 1 and 10000 \(given 0\)/);
  });

  it('rejects -1 retry attempts, which would mean retrying forever', () => {
    // Act
    const act = () => relayWith({ retryAttempts: -1 });

    // Assert
    expect(act).toThrow(/retryAttempts must be between 0 and 10000 \(given -1\)/);
  });

  it('rejects an infinite number of retry attempts', () => {
    // Act
    const act = () => relayWith({ retryAttempts: Number.POSITIVE_INFINITY });

    // Assert
    expect(act).toThrow(/retryAttempts must be a whole number \(given Infinity\)/);
  });

  it('rejects a maximum record age beyond 7 days', () => {
    // Act
    const act = () => relayWith({ maxRecordAge: Duration.days(8) });

    // Assert
    expect(act).toThrow(/maxRecordAge must be between 1 minute and 7 days \(given 8 days\)/);
  });

  it('rejects a maximum record age under 60 seconds', () => {
    // Act
    const act = () => relayWith({ maxRecordAge: Duration.seconds(30) });

    // Assert
    expect(act).toThrow(/maxRecordAge must be between 1 minute and 7 days \(given 30 seconds\)/);
  });

  it('rejects a parallelization factor above 10', () => {
    // Act
    const act = () => relayWith({ parallelizationFactor: 11 });

    // Assert
    expect(act).toThrow(/parallelizationFactor must be between 1 and 10 \(given 11\)/);
  });

  it('rejects a table without a stream', () => {
    // Arrange
    const stack = newUnbundledStack();
    const table = new Table(stack, 'Plain', { partitionKey: { name: 'pk', type: AttributeType.STRING } });

    // Act
    const act = () => new OutboxRelay(stack, 'Relay', { table, eventBus: new EventBus(stack, 'Bus') });

    // Assert
    expect(act).toThrow(/table must have a DynamoDB stream .*\(given TestStack\/Plain, which has none\)/);
  });

  it('rejects a standard queue as an ordered queue', () => {
    // Arrange
    const relay = relayWith({});
    const queue = new Queue(Stack.of(relay), 'Standard');

    // Act
    const act = () => relay.addOrderedQueue(queue);

    // Assert
    expect(act).toThrow(/ordered queues must be FIFO queues \(given TestStack\/Standard, which is not\)/);
  });

  it('rejects registering the same ordered queue twice', () => {
    // Arrange
    const relay = relayWith({});
    const queue = new Queue(Stack.of(relay), 'Fifo', { fifo: true });
    relay.addOrderedQueue(queue);

    // Act
    const act = () => relay.addOrderedQueue(queue);

    // Assert
    expect(act).toThrow(/ordered queue is already registered \(given TestStack\/Fifo\)/);
  });

  it('rejects binding its own function as a second publisher', () => {
    // Arrange
    const relay = relayWith({});

    // Act
    const act = () => relay.bindPublisher(relay.function);

    // Assert
    expect(act).toThrow(/function is already bound to the relay \(given TestStack\/Relay\/Function\)/);
  });
});
