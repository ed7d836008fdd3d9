/**
 * Delivery of the local EventBridge: EventBridge's retry policy and target DLQs with their attributes.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { attribute, BUS, entry, useEventBusFixture } from '../support/event-bus-fixture';

const fixture = useEventBusFixture();
const { unique, createQueue, receiveAll } = fixture;

describe('delivery retries and dead-letter queues', () => {
  it('sends an event whose target queue does not exist to the target DLQ at once, with the error attributes', async () => {
    // Arrange: as EventBridge, a target that does not exist is not retried
    const source = unique('test.noqueue');
    const dlqUrl = await createQueue(unique('dlq'));
    const missingName = unique('missing');
    const missingQueueUrl = dlqUrl.replace(/[^/]+$/, missingName);
    const ruleName = unique('rule');
    fixture.bus.putRule({
      name: ruleName,
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [{ id: 'missing', queueUrl: missingQueueUrl, deadLetterQueueUrl: dlqUrl }],
    });
    const before = fixture.bus.counters;

    // Act
    const result = await fixture.events.send(new PutEventsCommand({ Entries: [entry(source)] }));
    await fixture.bus.waitForIdle();

    // Assert
    const [deadLetter, ...others] = await receiveAll(dlqUrl);
    expect(others).toEqual([]);
    expect(JSON.parse(deadLetter?.Body ?? 'null')).toMatchObject({
      id: result.Entries?.[0]?.EventId,
      source,
    });
    expect(attribute(deadLetter, 'RULE_ARN')).toBe(
      `arn:aws:events:us-east-1:000000000000:rule/${BUS}/${ruleName}`,
    );
    expect(attribute(deadLetter, 'TARGET_ARN')).toBe(`arn:aws:sqs:us-east-1:000000000000:${missingName}`);
    expect(attribute(deadLetter, 'ERROR_CODE')).toBe('NO_RESOURCE');
    expect(attribute(deadLetter, 'ERROR_MESSAGE')).toMatch(/does not exist/);
    expect(attribute(deadLetter, 'RETRY_ATTEMPTS')).toBe('0');
    expect(attribute(deadLetter, 'EXHAUSTED_RETRY_CONDITION')).toBeUndefined();
    expect(fixture.bus.counters.deadLettered).toBe(before.deadLettered + 1);
    expect(fixture.bus.counters.deliveryRetries).toBe(before.deliveryRetries);
  });

  it('retries a failing delivery maximumRetryAttempts times, then dead-letters it naming the exhausted condition', async () => {
    // Arrange
    const source = unique('test.retries');
    const queueUrl = await createQueue(unique('target'));
    const dlqUrl = await createQueue(unique('dlq'));
    fixture.bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [{ id: 'flaky', queueUrl, deadLetterQueueUrl: dlqUrl, maximumRetryAttempts: 2 }],
    });
    const before = fixture.bus.counters;
    fixture.bus.setFaults({ targetDeliveryFailureRate: 1 });

    try {
      // Act
      await fixture.events.send(new PutEventsCommand({ Entries: [entry(source)] }));
      await fixture.bus.waitForIdle();
    } finally {
      fixture.bus.setFaults({});
    }

    // Assert
    expect(await receiveAll(queueUrl)).toEqual([]);
    const [deadLetter] = await receiveAll(dlqUrl);
    expect(attribute(deadLetter, 'ERROR_CODE')).toBe('INTERNAL_ERROR');
    expect(attribute(deadLetter, 'RETRY_ATTEMPTS')).toBe('2');
    expect(attribute(deadLetter, 'EXHAUSTED_RETRY_CONDITION')).toBe('MaximumRetryAttempts');
    expect(fixture.bus.counters.deliveryRetries).toBe(before.deliveryRetries + 2);
  });
});

describe('delivery of trace headers', () => {
  const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

  it("sends an entry's TraceHeader as the AWSTraceHeader of the target message, not in the event", async () => {
    // Arrange
    const source = unique('test.trace');
    const queueUrl = await createQueue(unique('target'));
    fixture.bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [{ id: 'q', queueUrl }],
    });

    // Act
    await fixture.events.send(new PutEventsCommand({ Entries: [{ ...entry(source), TraceHeader: TRACE }] }));
    await fixture.bus.waitForIdle();

    // Assert
    const [message] = await receiveAll(queueUrl);
    expect(message?.Attributes?.AWSTraceHeader).toBe(TRACE);
    expect(message?.Body).not.toContain('Root=');
  });

  it('drops a TraceHeader that X-Ray would refuse and still delivers the event', async () => {
    // Arrange
    const source = unique('test.badtrace');
    const queueUrl = await createQueue(unique('target'));
    fixture.bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [{ id: 'q', queueUrl }],
    });

    // Act
    await fixture.events.send(
      new PutEventsCommand({ Entries: [{ ...entry(source), TraceHeader: 'not-a-trace' }] }),
    );
    await fixture.bus.waitForIdle();

    // Assert
    const messages = await receiveAll(queueUrl);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Attributes?.AWSTraceHeader).toBeUndefined();
  });

  it('sends the TraceHeader with the event to the target DLQ', async () => {
    // Arrange
    const source = unique('test.tracedlq');
    const dlqUrl = await createQueue(unique('dlq'));
    fixture.bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [
        { id: 'missing', queueUrl: dlqUrl.replace(/[^/]+$/, unique('missing')), deadLetterQueueUrl: dlqUrl },
      ],
    });

    // Act
    await fixture.events.send(new PutEventsCommand({ Entries: [{ ...entry(source), TraceHeader: TRACE }] }));
    await fixture.bus.waitForIdle();

    // Assert
    const [deadLetter] = await receiveAll(dlqUrl);
    expect(deadLetter?.Attributes?.AWSTraceHeader).toBe(TRACE);
    expect(attribute(deadLetter, 'ERROR_CODE')).toBe('NO_RESOURCE');
  });
});

describe('delivery with an authorizer (queue policies)', () => {
  it('fails a delivery the target queue refuses as NO_PERMISSIONS without retrying, to the DLQ, and counts it', async () => {
    // Arrange
    const source = unique('test.refused');
    const queueUrl = await createQueue(unique('target'));
    const dlqUrl = await createQueue(unique('dlq'));
    const targetArn = `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`;
    const asked: Array<{ ruleArn: string; queueArn: string }> = [];
    fixture.bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [{ id: 'guarded', queueUrl, deadLetterQueueUrl: dlqUrl, maximumRetryAttempts: 3 }],
    });
    const before = fixture.bus.counters;
    fixture.bus.setDeliveryAuthorizer((delivery) => {
      asked.push(delivery);
      return delivery.queueArn === targetArn ? 'not allowed by the queue policy' : undefined;
    });

    try {
      // Act
      await fixture.events.send(new PutEventsCommand({ Entries: [entry(source)] }));
      await fixture.bus.waitForIdle();
    } finally {
      fixture.bus.setDeliveryAuthorizer(undefined);
    }

    // Assert
    expect(await receiveAll(queueUrl)).toEqual([]);
    const [deadLetter] = await receiveAll(dlqUrl);
    expect(attribute(deadLetter, 'ERROR_CODE')).toBe('NO_PERMISSIONS');
    expect(attribute(deadLetter, 'ERROR_MESSAGE')).toBe('not allowed by the queue policy');
    expect(attribute(deadLetter, 'RETRY_ATTEMPTS')).toBe('0');
    expect(asked.map((d) => d.queueArn)).toEqual([
      targetArn,
      targetArn.replace(/[^:]+$/, dlqUrl.split('/').pop() ?? ''),
    ]);
    const after = fixture.bus.counters;
    expect(after.refusedDeliveries).toBe(before.refusedDeliveries + 1);
    expect(after.deliveryRetries).toBe(before.deliveryRetries);
    expect(after.deadLettered).toBe(before.deadLettered + 1);
  });

  it('loses the event when the DLQ refuses it too, and counts it as a dead-letter failure', async () => {
    // Arrange
    const source = unique('test.refuseddlq');
    const queueUrl = await createQueue(unique('target'));
    const dlqUrl = await createQueue(unique('dlq'));
    fixture.bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [{ id: 'guarded', queueUrl, deadLetterQueueUrl: dlqUrl }],
    });
    const before = fixture.bus.counters;
    fixture.bus.setDeliveryAuthorizer(() => 'refused');

    try {
      // Act
      await fixture.events.send(new PutEventsCommand({ Entries: [entry(source)] }));
      await fixture.bus.waitForIdle();
    } finally {
      fixture.bus.setDeliveryAuthorizer(undefined);
    }

    // Assert
    expect(await receiveAll(queueUrl)).toEqual([]);
    expect(await receiveAll(dlqUrl)).toEqual([]);
    const after = fixture.bus.counters;
    expect(after.deadLetterFailures).toBe(before.deadLetterFailures + 1);
    expect(after.deadLettered).toBe(before.deadLettered);
  });
});
