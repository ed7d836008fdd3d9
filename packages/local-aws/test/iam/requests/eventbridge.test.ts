import { describe, expect, it } from 'vitest';
import { eventRuleArn, mapEventBridgeRequest } from '../../../src/iam/requests/eventbridge';
import { ACCOUNT, REGION } from '../fixtures/local-resources';

const env = { accountId: ACCOUNT, region: REGION };
const bus = (name: string) => `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;

describe('mapEventBridgeRequest', () => {
  it('authorizes PutEvents on the bus of each entry, the default bus when none is named', () => {
    // Act
    const mapped = mapEventBridgeRequest(
      'AWSEvents.PutEvents',
      {
        Entries: [
          { EventBusName: 'orders', Source: 'shop.orders', DetailType: 'OrderPlaced', Detail: '{}' },
          { EventBusName: bus('orders'), Source: 'shop.orders', DetailType: 'OrderPlaced', Detail: '{}' },
          { Source: 'shop.audit', DetailType: 'Audit', Detail: '{}' },
        ],
      },
      env,
    );

    // Assert
    expect(mapped?.authorizations).toEqual([
      {
        action: 'events:PutEvents',
        resource: bus('orders'),
        context: { 'events:source': 'shop.orders', 'events:detail-type': 'OrderPlaced' },
      },
      {
        action: 'events:PutEvents',
        resource: bus('default'),
        context: { 'events:source': 'shop.audit', 'events:detail-type': 'Audit' },
      },
    ]);
  });

  it('authorizes PutTargets on the rule ARN of its bus', () => {
    // Act
    const mapped = mapEventBridgeRequest(
      'AWSEvents.PutTargets',
      { Rule: 'r', EventBusName: 'orders', Targets: [] },
      env,
    );

    // Assert
    expect(mapped?.authorizations.map((a) => [a.action, a.resource])).toEqual([
      ['events:PutTargets', `arn:aws:events:${REGION}:${ACCOUNT}:rule/orders/r`],
    ]);
  });

  it('authorizes StartReplay on the replay ARN', () => {
    // Act
    const mapped = mapEventBridgeRequest('AWSEvents.StartReplay', { ReplayName: 'again' }, env);

    // Assert
    expect(mapped?.authorizations[0]?.resource).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:replay/again`);
  });

  it('leaves a request of another service unmapped', () => {
    // Act
    const mapped = mapEventBridgeRequest('AmazonSQS.SendMessage', {}, env);

    // Assert
    expect(mapped).toBeUndefined();
  });
});

describe('eventRuleArn', () => {
  it('leaves the bus out of the ARN of a rule on the default bus', () => {
    // Act
    const arn = eventRuleArn('Sweeper', undefined, env);

    // Assert
    expect(arn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:rule/Sweeper`);
  });
});
