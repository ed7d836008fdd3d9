import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { ConsumerDeclaration } from '../../contract/consumers';
import { ENV } from '../../contract/env';
import { ConstructPropsError } from '../../lib/constructs/errors';
import type { OutboxPipelineStackProps } from '../../lib/outbox-pipeline-stack';
import { synthPipeline } from './pipeline-fixture';
import { environmentOf, messageOf, resourcesOfType, thrownBy } from './template-helpers';

const activity: ConsumerDeclaration = {
  name: 'order-activity',
  kind: 'unordered',
  detailTypePrefix: 'Order',
};
const projection: ConsumerDeclaration = {
  name: 'order-projection',
  kind: 'ordered',
  startPosition: 'earliest',
};

const REFUSED: Array<[string, OutboxPipelineStackProps, RegExp]> = [
  [
    'fifoMaxReceiveCount 0',
    { fifoMaxReceiveCount: 0 },
    /fifoMaxReceiveCount must be between 1 and 1000 \(given 0\)/,
  ],
  [
    'fifoMaxReceiveCount 2.5',
    { fifoMaxReceiveCount: 2.5 },
    /fifoMaxReceiveCount must be a whole number \(given 2.5\)/,
  ],
  [
    'archiveRetention beyond 365 days',
    { archiveRetention: Duration.days(400) },
    /archiveRetention must be between 1 day and 365 days \(given 400 days\)/,
  ],
  [
    'archiveRetention longer than consumerMemory',
    { archiveRetention: Duration.days(30) },
    /archiveRetention \(30 days\) is longer than consumerMemory \(14 days\)/,
  ],
  [
    'outboxRetention longer than consumerMemory',
    { outboxRetention: Duration.days(20) },
    /outboxRetention \(20 days\) is longer than consumerMemory \(14 days\)/,
  ],
  [
    'consumerMemory shorter than the dead-letter queues keep messages',
    { consumerMemory: Duration.days(10) },
    /dead-letter queue retention \(14 days\) is longer than consumerMemory \(10 days\)/,
  ],
  [
    'consumerMemory beyond 365 days',
    { consumerMemory: Duration.days(400) },
    /consumerMemory must be between 14 days and 365 days \(given 400 days\)/,
  ],
  [
    'outboxRetention in part days',
    { outboxRetention: Duration.hours(36) },
    /outboxRetention must be whole days \(given 1 day 12 hours\)/,
  ],
  [
    'archiveRetention in part days',
    { archiveRetention: Duration.hours(36) },
    /archiveRetention must be whole days \(given 1 day 12 hours\)/,
  ],
  [
    'a consumerMemory in part seconds',
    { consumerMemory: Duration.millis(Duration.days(20).toMilliseconds() + 500) },
    /consumerMemory must be whole seconds \(given 1728000500 milliseconds\)/,
  ],
  [
    'an eventSource with a space',
    { eventSource: 'com example' },
    /eventSource must be a non-empty URI reference without spaces \(given 'com example'\)/,
  ],
  [
    'a consumer declared twice',
    { consumers: [activity, activity] },
    /consumer order-activity is declared twice in the registry/,
  ],
  [
    'a consumer name that is not kebab-case',
    { consumers: [{ ...activity, name: 'Order_Activity' }] },
    /consumerName: a consumer name must be kebab-case.*\(given "Order_Activity"\)/,
  ],
  [
    'eventTypes and detailTypePrefix together',
    { consumers: [{ ...activity, eventTypes: ['OrderPlaced'] }] },
    /order-activity: give eventTypes or detailTypePrefix, not both \(given \{.*"eventTypes":\["OrderPlaced"\].*\}\)/,
  ],
  [
    'empty eventTypes',
    { consumers: [{ name: 'order-activity', kind: 'unordered', eventTypes: [] }] },
    /order-activity: eventTypes must name at least one event type \(given \[\]\)/,
  ],
  [
    'an ordered batch size above the FIFO limit',
    { consumers: [{ ...projection, batchSize: 11 }] },
    /batchSize must be between 1 and 10 \(given 11\)/,
  ],
  [
    'an unordered batch size above 10, which needs a batching window the registry cannot give',
    { consumers: [{ ...activity, batchSize: 20 }] },
    /batchSize above 10 needs a maxBatchingWindow .*\(given batchSize 20 and maxBatchingWindow none\)/,
  ],
  [
    'a maxConcurrency below the SQS mapping minimum',
    { consumers: [{ ...projection, maxConcurrency: 1 }] },
    /maxConcurrency must be between 2 and 1000 \(given 1\)/,
  ],
];

describe('OutboxPipelineStack validation', () => {
  it.each(REFUSED)(
    'refuses %s with a ConstructPropsError that says what was given',
    (_case, props, message) => {
      // Act
      const error = thrownBy(() => synthPipeline(props));

      // Assert
      expect(error).toBeInstanceOf(ConstructPropsError);
      expect((error as Error).name).toBe('ConstructPropsError');
      expect(messageOf(error)).toMatch(message);
    },
  );

  it('accepts the widest replay reach the rule allows: every source as long as consumerMemory', () => {
    // Act
    const { template } = synthPipeline({
      consumerMemory: Duration.days(30),
      outboxRetention: Duration.days(30),
      archiveRetention: Duration.days(30),
    });

    // Assert
    expect(resourcesOfType(template, 'AWS::Events::Archive').map((a) => a.Properties.RetentionDays)).toEqual([
      30,
    ]);
  });

  it('deploys an empty registry: no consumer, and the relay publishes to no ordered queue', () => {
    // Act
    const { template, relay } = synthPipeline({ consumers: [] });

    // Assert
    expect(resourcesOfType(template, 'AWS::Lambda::Function')).toHaveLength(3);
    expect(environmentOf(template, relay.function)[ENV.orderedQueueUrls]).toBe('[]');
  });
});
