import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { grantOnTableOnly, grantPendingIndexQuery, OutboxTable } from '../../../lib/constructs/outbox-table';
import { arnOf, newUnbundledStack } from '../template-helpers';

function roleWithGrant(grant: (table: OutboxTable['table'], role: Role) => void) {
  const stack = newUnbundledStack();
  const { table } = new OutboxTable(stack, 'OutboxTable');
  const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  grant(table, role);
  const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
  return { table, statements: policy?.Properties.PolicyDocument.Statement };
}

describe('pending index helpers', () => {
  it('grantPendingIndexQuery allows Query on the pending index only', () => {
    // Act
    const { table, statements } = roleWithGrant((t, role) => grantPendingIndexQuery(t, role));

    // Assert
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [arnOf(table), '/index/PendingIndex']] },
      },
    ]);
  });

  it('grantOnTableOnly leaves the indexes out, unlike ITable.grant', () => {
    // Act
    const { table, statements } = roleWithGrant((t, role) => grantOnTableOnly(t, role, 'dynamodb:GetItem'));

    // Assert
    expect(statements).toEqual([{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: arnOf(table) }]);
  });
});
