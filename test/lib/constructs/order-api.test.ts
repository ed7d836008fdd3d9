import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { AGGREGATE_TYPES } from '../../../contract/aggregates';
import { ENV } from '../../../contract/env';
import { KEYS } from '../../../contract/keys';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { OrderApi, type OrderApiProps } from '../../../lib/constructs/order-api';
import { OutboxTable } from '../../../lib/constructs/outbox-table';
import { PipelineObservability } from '../../../lib/constructs/pipeline-observability';
import {
  leadingKeysCondition,
  type Permission,
  permissionsFor,
  permissionsIn,
  permissionsOf,
} from '../iam-helpers';
import {
  arnOf,
  defined,
  environmentOf,
  messageOf,
  newUnbundledStack,
  type PolicyStatement,
  propertiesOf,
  refOf,
  resourcesOfType,
  thrownBy,
} from '../template-helpers';

function orderApiWith(props: Partial<OrderApiProps> = {}) {
  const stack = newUnbundledStack();
  const { table } = new OutboxTable(stack, 'OutboxTable');
  const api = new OrderApi(stack, 'Api', {
    table,
    eventSource: 'com.example.orders',
    outboxRetention: Duration.days(7),
    ...props,
  });
  return { stack, table, api, template: () => Template.fromStack(stack) };
}

const sorted = (permissions: Permission[]) =>
  [...permissions].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('OrderApi', () => {
  it('may only put and get order aggregates, their outbox items and command records', () => {
    // Act
    const { api, table, template } = orderApiWith();

    // Assert
    const condition = leadingKeysCondition([`${AGGREGATE_TYPES.order}#*`, `${KEYS.commandPkPrefix}*`]);
    expect(sorted(permissionsFor(permissionsOf(template(), api.function), 'dynamodb:'))).toEqual(
      sorted(
        ['dynamodb:GetItem', 'dynamodb:PutItem'].map((action) => ({
          action,
          resource: arnOf(table),
          condition,
        })),
      ),
    );
  });

  it('is reachable only through an IAM-authenticated function URL', () => {
    // Act
    const { api, template } = orderApiWith();

    // Assert
    expect(propertiesOf(template(), api.url)).toEqual({
      AuthType: 'AWS_IAM',
      TargetFunctionArn: arnOf(api.function),
    });
  });

  it('grants callers both actions an AWS_IAM function URL needs, each under its condition', () => {
    // Arrange
    const { stack, api, template } = orderApiWith();
    const caller = new Role(stack, 'Caller', { assumedBy: new AccountRootPrincipal() });

    // Act
    api.grantInvoke(caller);

    // Assert
    const callerPolicy = defined(
      resourcesOfType(template(), 'AWS::IAM::Policy').find((policy) =>
        JSON.stringify(policy.Properties.Roles).includes('Caller'),
      ),
      'the caller policy',
    );
    const statements = (callerPolicy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement;
    expect(sorted(permissionsIn(statements))).toEqual(
      sorted([
        {
          action: 'lambda:InvokeFunctionUrl',
          resource: arnOf(api.function),
          condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        },
        {
          action: 'lambda:InvokeFunction',
          resource: arnOf(api.function),
          condition: { Bool: { 'lambda:InvokedViaFunctionUrl': true } },
        },
      ]),
    );
  });

  it('gets the table, the event source and the outbox retention in days through its environment', () => {
    // Act
    const { api, table, template } = orderApiWith({
      eventSource: 'com.example.shop',
      outboxRetention: Duration.days(3),
    });

    // Assert
    expect(environmentOf(template(), api.function)).toMatchObject({
      [ENV.tableName]: refOf(table),
      [ENV.eventSource]: 'com.example.shop',
      [ENV.outboxRetentionDays]: '3',
    });
  });

  it('registers its function with the monitor for an errors alarm', () => {
    // Arrange
    const stack = newUnbundledStack();
    const { table } = new OutboxTable(stack, 'OutboxTable');
    const monitor = new PipelineObservability(stack, 'Observability');

    // Act
    const api = new OrderApi(stack, 'Api', {
      table,
      eventSource: 'com.example.orders',
      outboxRetention: Duration.days(7),
      monitor,
    });

    // Assert
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: refOf(api.function) }],
    });
  });

  it.each<[string, Partial<OrderApiProps>, RegExp]>([
    [
      'an outbox retention that is not whole days',
      { outboxRetention: Duration.hours(36) },
      /outboxRetention must be whole days \(given 1 day 12 hours\)/,
    ],
    [
      'an outbox retention beyond 365 days',
      { outboxRetention: Duration.days(400) },
      /outboxRetention must be between 1 day and 365 days \(given 400 days\)/,
    ],
    [
      'an empty event source',
      { eventSource: '' },
      /eventSource must be a non-empty URI reference without spaces \(given ''\)/,
    ],
    [
      'an event source with a space',
      { eventSource: 'com.example orders' },
      /eventSource must be a non-empty URI reference without spaces \(given 'com.example orders'\)/,
    ],
  ])('rejects %s with a ConstructPropsError', (_case, props, message) => {
    // Act
    const error = thrownBy(() => orderApiWith(props));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});
