import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../contract/env';
import { RELAY_ITEMS } from '../../../contract/keys';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { FailureBucket } from '../../../lib/constructs/failure-bucket';
import { OrderedConsumer } from '../../../lib/constructs/ordered-consumer';
import { OutboxRelay, type OutboxRelayProps } from '../../../lib/constructs/outbox-relay';
import { OutboxTable } from '../../../lib/constructs/outbox-table';
import { PipelineFunction } from '../../../lib/constructs/pipeline-function';
import { leadingKeysCondition, permissionsFor, permissionsOf } from '../iam-helpers';
import {
  arnOf,
  defined,
  environmentOf,
  messageOf,
  newUnbundledStack,
  pipelineBase,
  refOf,
  resourcesOfType,
  thrownBy,
} from '../template-helpers';

function relayWith(props: Partial<OutboxRelayProps>) {
  const stack = newUnbundledStack();
  const { table } = new OutboxTable(stack, 'OutboxTable');
  const failureBucket = new FailureBucket(stack, 'FailureBucket');
  const eventBus = new EventBus(stack, 'Bus');
  const relay = new OutboxRelay(stack, 'Relay', { table, eventBus, failureBucket, ...props });
  return { stack, table, eventBus, relay, failureBucket, template: () => Template.fromStack(stack) };
}

function streamMapping(template: Template): Record<string, unknown> {
  const [mapping] = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
  return defined(mapping, 'the stream mapping').Properties;
}

describe('OutboxRelay', () => {
  it('lists every ordered consumer queue in ORDERED_QUEUE_URLS, including consumers added after the relay', () => {
    // Arrange
    const stack = newUnbundledStack();
    const { relay, table, idempotencyTable } = pipelineBase(stack);
    const consumerProps = { relay, startPosition: 'earliest', idempotencyTable, table } as const;

    // Act
    const first = new OrderedConsumer(stack, 'OrderProjection', {
      ...consumerProps,
      consumerName: 'order-projection',
    });
    const second = new OrderedConsumer(stack, 'OrderActivity', {
      ...consumerProps,
      consumerName: 'order-activity',
    });

    // Assert
    expect(environmentOf(Template.fromStack(stack), relay.function)[ENV.orderedQueueUrls]).toEqual({
      'Fn::Join': ['', ['["', refOf(first.queue), '","', refOf(second.queue), '"]']],
    });
  });

  it('may send to every registered ordered queue and to its failure queue, and only SendMessage', () => {
    // Arrange
    const { stack, relay, template } = relayWith({});
    const queues = ['A', 'B'].map((id) => new Queue(stack, id, { fifo: true }));

    // Act
    for (const queue of queues) relay.addOrderedQueue(queue);

    // Assert
    const sqs = permissionsFor(permissionsOf(template(), relay.function), 'sqs:');
    expect(sqs.map((permission) => permission.action)).toEqual(sqs.map(() => 'sqs:SendMessage'));
    expect(sqs.map((permission) => permission.resource)).toEqual(
      expect.arrayContaining([...queues, relay.failureQueue].map((queue) => arnOf(queue))),
    );
    expect(sqs).toHaveLength(3);
  });

  it('publishes an empty JSON array when no ordered queue is registered', () => {
    // Act
    const { relay, template } = relayWith({});

    // Assert
    expect(environmentOf(template(), relay.function)[ENV.orderedQueueUrls]).toBe('[]');
  });

  it('passes its stream settings to the mapping, with the failure bucket as on-failure destination', () => {
    // Act
    const { failureBucket, template } = relayWith({
      batchSize: 50,
      maxBatchingWindow: Duration.seconds(2),
      retryAttempts: 3,
      maxRecordAge: Duration.hours(1),
      parallelizationFactor: 2,
    });

    // Assert
    expect(streamMapping(template())).toMatchObject({
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 2,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      ParallelizationFactor: 2,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: arnOf(failureBucket.bucket) } },
    });
  });

  it('lets another function run the relay core with the same environment and grants', () => {
    // Arrange
    const { stack, table, eventBus, relay, template } = relayWith({});
    const publisher = new PipelineFunction(stack, 'Publisher', { entry: 'sweeper/handler' });
    const late = new Queue(stack, 'Late', { fifo: true });

    // Act
    relay.bindPublisher(publisher);
    relay.addOrderedQueue(late);

    // Assert
    const [relayEnvironment, publisherEnvironment] = [relay.function, publisher].map((fn) =>
      environmentOf(template(), fn),
    );
    for (const name of [ENV.tableName, ENV.eventBusName, ENV.relayFailureQueueUrl, ENV.orderedQueueUrls]) {
      expect(publisherEnvironment?.[name]).toEqual(relayEnvironment?.[name]);
    }
    const granted = permissionsOf(template(), publisher);
    expect(granted).toEqual(
      expect.arrayContaining([
        { action: 'sqs:SendMessage', resource: arnOf(late) },
        { action: 'events:PutEvents', resource: arnOf(eventBus) },
        {
          action: 'dynamodb:UpdateItem',
          resource: arnOf(table),
          condition: leadingKeysCondition([RELAY_ITEMS.heartbeatPk]),
        },
      ]),
    );
  });

  it.each<[string, Partial<OutboxRelayProps>, RegExp]>([
    ['a batch size of 0', { batchSize: 0 }, /batchSize must be between 1 and 10000 \(given 0\)/],
    [
      '-1 retry attempts, which would mean retrying forever',
      { retryAttempts: -1 },
      /retryAttempts must be between 0 and 10000 \(given -1\)/,
    ],
    [
      'an infinite number of retry attempts',
      { retryAttempts: Number.POSITIVE_INFINITY },
      /retryAttempts must be a whole number \(given Infinity\)/,
    ],
    [
      'a maximum record age beyond 7 days',
      { maxRecordAge: Duration.days(8) },
      /maxRecordAge must be between 1 minute and 7 days \(given 8 days\)/,
    ],
    [
      'a maximum record age under 60 seconds',
      { maxRecordAge: Duration.seconds(30) },
      /maxRecordAge must be between 1 minute and 7 days \(given 30 seconds\)/,
    ],
    [
      'a batching window in part seconds',
      { maxBatchingWindow: Duration.millis(1500) },
      /maxBatchingWindow must be whole seconds \(given 1500 milliseconds\)/,
    ],
    [
      'a batching window beyond 300 seconds',
      { maxBatchingWindow: Duration.minutes(6) },
      /maxBatchingWindow must be between 0 seconds and 5 minutes \(given 6 minutes\)/,
    ],
    [
      'a parallelization factor above 10',
      { parallelizationFactor: 11 },
      /parallelizationFactor must be between 1 and 10 \(given 11\)/,
    ],
  ])('rejects %s with a ConstructPropsError', (_case, props, message) => {
    // Act
    const error = thrownBy(() => relayWith(props));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });

  it('rejects a table without a stream', () => {
    // Arrange
    const stack = newUnbundledStack();
    const table = new Table(stack, 'Plain', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const failureBucket = new FailureBucket(stack, 'FailureBucket');

    // Act
    const error = thrownBy(
      () => new OutboxRelay(stack, 'Relay', { table, eventBus: new EventBus(stack, 'Bus'), failureBucket }),
    );

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(
      /table must have a DynamoDB stream .*\(given TestStack\/Plain, which has none\)/,
    );
  });

  it('rejects a standard queue as an ordered queue', () => {
    // Arrange
    const { stack, relay } = relayWith({});
    const queue = new Queue(stack, 'Standard');

    // Act
    const error = thrownBy(() => relay.addOrderedQueue(queue));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(
      /ordered queues must be FIFO queues \(given TestStack\/Standard, which is not\)/,
    );
  });

  it('rejects registering the same ordered queue twice', () => {
    // Arrange
    const { stack, relay } = relayWith({});
    const queue = new Queue(stack, 'Fifo', { fifo: true });
    relay.addOrderedQueue(queue);

    // Act
    const error = thrownBy(() => relay.addOrderedQueue(queue));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(/ordered queue is already registered \(given TestStack\/Fifo\)/);
  });

  it('rejects binding its own function as a second publisher', () => {
    // Arrange
    const { relay } = relayWith({});

    // Act
    const error = thrownBy(() => relay.bindPublisher(relay.function));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(
      /function is already bound to the relay \(given TestStack\/Relay\/Function\)/,
    );
  });
});
