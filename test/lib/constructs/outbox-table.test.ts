import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { grantItems, grantScan, IdempotencyTable, OutboxTable } from '../../../lib/constructs/outbox-table';
import {
  arnOf,
  messageOf,
  newUnbundledStack,
  type PolicyStatement,
  resourceOf,
  resourcesOfType,
  thrownBy,
} from '../template-helpers';

function roleWithGrant(grant: (table: OutboxTable['table'], role: Role) => void) {
  const stack = newUnbundledStack();
  const { table } = new OutboxTable(stack, 'OutboxTable');
  const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  grant(table, role);
  const [policy] = resourcesOfType(Template.fromStack(stack), 'AWS::IAM::Policy');
  const document = policy?.Properties.PolicyDocument as { Statement: PolicyStatement[] } | undefined;
  return { table, statements: document?.Statement };
}

describe('grantItems', () => {
  it('grants item actions on the table only, leaving its indexes out unlike ITable.grant', () => {
    // Act
    const { table, statements } = roleWithGrant((t, role) =>
      grantItems(t, role, { actions: ['dynamodb:GetItem', 'dynamodb:Query'] }),
    );

    // Assert
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: arnOf(table) },
    ]);
  });

  it('scopes the grant to partition keys with ForAllValues:StringLike on dynamodb:LeadingKeys', () => {
    // Act
    const { table, statements } = roleWithGrant((t, role) =>
      grantItems(t, role, { actions: ['dynamodb:PutItem'], leadingKeys: ['VIEW#a#*', 'VIEW#b#*'] }),
    );

    // Assert
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: arnOf(table),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['VIEW#a#*', 'VIEW#b#*'] } },
      },
    ]);
  });

  it.each([
    [
      { actions: [] },
      /a grant on TestStack\/OutboxTable\/Table must name at least one action \(given none\)/,
    ],
    [
      { actions: ['dynamodb:GetItem' as const], leadingKeys: [] },
      /leadingKeys must list at least one partition-key pattern, or be omitted \(given \[\] on TestStack\/OutboxTable\/Table\)/,
    ],
  ])('rejects %o with a ConstructPropsError', (grant, message) => {
    // Act
    const error = thrownBy(() => roleWithGrant((t, role) => grantItems(t, role, grant)));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});

describe('grantScan', () => {
  it('allows Scan on the table only', () => {
    // Act
    const { table, statements } = roleWithGrant((t, role) => grantScan(t, role));

    // Assert
    expect(statements).toEqual([{ Effect: 'Allow', Action: 'dynamodb:Scan', Resource: arnOf(table) }]);
  });
});

describe('OutboxTable and IdempotencyTable', () => {
  it('are retained by default and deleted with the stack when asked', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const tables = [
      new OutboxTable(stack, 'Kept').table,
      new OutboxTable(stack, 'Dropped', { removalPolicy: RemovalPolicy.DESTROY }).table,
      new IdempotencyTable(stack, 'KeptRecords').table,
      new IdempotencyTable(stack, 'DroppedRecords', { removalPolicy: RemovalPolicy.DESTROY }).table,
    ];

    // Assert
    const template = Template.fromStack(stack);
    expect(tables.map((table) => resourceOf(template, table).DeletionPolicy)).toEqual([
      'Retain',
      'Delete',
      'Retain',
      'Delete',
    ]);
  });

  it('the outbox table has no index: the relay keeps no per-event mark', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const { table } = new OutboxTable(stack, 'OutboxTable');

    // Assert
    expect(resourceOf(Template.fromStack(stack), table).Properties).toMatchObject({
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    });
    expect(resourceOf(Template.fromStack(stack), table).Properties.GlobalSecondaryIndexes).toBeUndefined();
  });
});
