/**
 * Routing of the local EventBridge: rules, patterns and SQS targets, through the real SDK clients and fauxqs.
 */
import { DescribeEventBusCommand, ListRulesCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { BUS, entry, useEventBusFixture } from '../support/event-bus-fixture';

const fixture = useEventBusFixture();
const { unique, createQueue, receiveAll, routeSourceToNewQueue } = fixture;

describe('routing to rule targets', () => {
  it("delivers a matching event to the target queue in EventBridge's event shape", async () => {
    // Arrange
    const source = unique('test.shape');
    const queueUrl = await routeSourceToNewQueue(source);
    const detail = { orderId: 'o-42', lines: [{ sku: 'A', quantity: 2 }], total: 12.5 };

    // Act
    const result = await fixture.events.send(
      new PutEventsCommand({
        Entries: [
          { ...entry(source, detail), Time: new Date('2024-05-01T12:00:00.789Z'), Resources: ['order/o-42'] },
        ],
      }),
    );
    await fixture.bus.waitForIdle();

    // Assert
    const messages = await receiveAll(queueUrl);
    expect(messages).toHaveLength(1);
    const delivered = JSON.parse(messages[0]?.Body ?? 'null');
    expect(delivered).toEqual({
      version: '0',
      id: result.Entries?.[0]?.EventId,
      'detail-type': 'OrderPlaced',
      source,
      account: '000000000000',
      time: '2024-05-01T12:00:00Z',
      region: 'us-east-1',
      resources: ['order/o-42'],
      detail,
    });
    expect(Object.keys(delivered)).toEqual([
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ]);
  });

  it('does not deliver an event that matches no rule', async () => {
    // Arrange
    const source = unique('test.nomatch');
    const queueUrl = await routeSourceToNewQueue(source);

    // Act
    const result = await fixture.events.send(
      new PutEventsCommand({ Entries: [{ ...entry(source), DetailType: 'OrderCancelled' }] }),
    );
    await fixture.bus.waitForIdle();

    // Assert
    expect(result.FailedEntryCount).toBe(0);
    expect(await receiveAll(queueUrl)).toEqual([]);
  });

  it('delivers to a FIFO target with the MessageGroupId of the target', async () => {
    // Arrange
    const source = unique('test.fifo');
    const queueUrl = await createQueue(`${unique('target')}.fifo`, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
    });
    fixture.bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: JSON.stringify({ source: [source] }),
      targets: [{ id: 'fifo', queueUrl, messageGroupId: 'orders' }],
    });

    // Act
    await fixture.events.send(new PutEventsCommand({ Entries: [entry(source)] }));
    await fixture.bus.waitForIdle();

    // Assert
    const messages = await receiveAll(queueUrl);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Attributes?.MessageGroupId).toBe('orders');
  });

  it('answers ListRules and DescribeEventBus through the SDK', async () => {
    // Arrange
    const ruleName = unique('listed');
    fixture.bus.putRule({
      name: ruleName,
      eventBusName: BUS,
      eventPattern: { source: ['test.listed'] },
      targets: [],
    });

    // Act
    const rules = await fixture.events.send(
      new ListRulesCommand({ EventBusName: BUS, NamePrefix: ruleName }),
    );
    const described = await fixture.events.send(new DescribeEventBusCommand({ Name: BUS }));

    // Assert
    expect(rules.Rules).toEqual([
      {
        Name: ruleName,
        Arn: `arn:aws:events:us-east-1:000000000000:rule/${BUS}/${ruleName}`,
        EventPattern: '{"source":["test.listed"]}',
        State: 'ENABLED',
        EventBusName: BUS,
      },
    ]);
    expect(described).toMatchObject({
      Name: BUS,
      Arn: `arn:aws:events:us-east-1:000000000000:event-bus/${BUS}`,
    });
  });

  it('refuses a FIFO target without messageGroupId when the rule is put', async () => {
    // Arrange
    const queueUrl = await createQueue(`${unique('target')}.fifo`, { FifoQueue: 'true' });

    // Act
    const putting = () =>
      fixture.bus.putRule({
        name: unique('rule'),
        eventBusName: BUS,
        eventPattern: { source: ['x'] },
        targets: [{ id: 't', queueUrl }],
      });

    // Assert
    expect(putting).toThrow(/a FIFO queue target needs a messageGroupId/);
  });
});
