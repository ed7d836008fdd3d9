import { describe, expect, it } from 'vitest';
import { mapDynamoDbRequest } from '../../../src/iam/requests/dynamodb';
import { readTableKeys } from '../../../src/iam/requests/table-keys';
import { RequestMappingError } from '../../../src/iam/requests/types';
import { ACCOUNT, loadPipelineTemplate, REGION, tableArn } from '../fixtures/local-resources';

// OutboxTable23220A39: pk (HASH) + sk (RANGE), GSI PendingIndex: pendingShard + pendingSince.
// IdempotencyTableE9369C9C: id (HASH).
const OUTBOX = 'OutboxTable23220A39';
const IDEMPOTENCY = 'IdempotencyTableE9369C9C';
const env = { accountId: ACCOUNT, region: REGION, tableKeys: readTableKeys(loadPipelineTemplate()) };
const map = (operation: string, body: Record<string, unknown>) =>
  mapDynamoDbRequest(`DynamoDB_20120810.${operation}`, body, env);

describe('mapDynamoDbRequest for single-item operations', () => {
  it('authorizes PutItem on the table with the partition key as LeadingKeys and the item names as Attributes', () => {
    // Act
    const mapped = map('PutItem', {
      TableName: OUTBOX,
      Item: { pk: { S: 'ORDER#1' }, sk: { S: 'v1' }, status: { S: 'NEW' } },
      ReturnValues: 'ALL_OLD',
    });

    // Assert
    expect(mapped?.authorizations).toEqual([
      {
        action: 'dynamodb:PutItem',
        resource: tableArn(OUTBOX),
        context: expect.objectContaining({
          'dynamodb:LeadingKeys': ['ORDER#1'],
          'dynamodb:Attributes': ['pk', 'sk', 'status'],
          'dynamodb:ReturnValues': 'ALL_OLD',
        }),
      },
    ]);
  });

  it.each(['GetItem', 'DeleteItem'])(
    'authorizes %s on the table with the key partition value',
    (operation) => {
      // Act
      const mapped = map(operation, { TableName: IDEMPOTENCY, Key: { id: { S: 'event-7' } } });

      // Assert
      expect(mapped?.authorizations).toEqual([
        expect.objectContaining({
          action: `dynamodb:${operation}`,
          resource: tableArn(IDEMPOTENCY),
          context: expect.objectContaining({ 'dynamodb:LeadingKeys': ['event-7'] }),
        }),
      ]);
    },
  );

  it('gives UpdateItem the names its update expression writes, resolved through ExpressionAttributeNames', () => {
    // Act
    const mapped = map('UpdateItem', {
      TableName: OUTBOX,
      Key: { pk: { S: 'ORDER#1' }, sk: { S: 'v1' } },
      UpdateExpression: 'SET #s = :s, attempts = if_not_exists(attempts, :zero) + :one REMOVE pendingShard',
      ExpressionAttributeNames: { '#s': 'status' },
    });

    // Assert
    expect(mapped?.authorizations[0]?.context['dynamodb:Attributes']).toEqual([
      'pk',
      'sk',
      'status',
      'attempts',
      'pendingShard',
    ]);
  });

  it('accepts a table ARN as TableName', () => {
    // Act
    const mapped = map('GetItem', { TableName: tableArn(IDEMPOTENCY), Key: { id: { S: 'a' } } });

    // Assert
    expect(mapped?.authorizations[0]?.resource).toBe(tableArn(IDEMPOTENCY));
  });

  it('refuses to guess LeadingKeys for an item without its partition key', () => {
    // Act
    const act = () => map('PutItem', { TableName: OUTBOX, Item: { sk: { S: 'v1' } } });

    // Assert
    expect(act).toThrow(RequestMappingError);
    expect(act).toThrow(/lacks its partition key pk/);
  });

  it('refuses a table the stack does not define, since its key schema is unknown', () => {
    // Act
    const act = () => map('GetItem', { TableName: 'Elsewhere', Key: { id: { S: 'a' } } });

    // Assert
    expect(act).toThrow(/table Elsewhere is not a table of the stack/);
  });
});

describe('mapDynamoDbRequest for Query and Scan', () => {
  it('authorizes a table Query with the partition-key equality of the key condition as LeadingKeys', () => {
    // Act
    const mapped = map('Query', {
      TableName: OUTBOX,
      KeyConditionExpression: '#pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':pk': { S: 'ORDER#1' }, ':prefix': { S: 'v' } },
      ProjectionExpression: 'pk, #pk, payload.items[0]',
    });

    // Assert
    expect(mapped?.authorizations).toEqual([
      {
        action: 'dynamodb:Query',
        resource: tableArn(OUTBOX),
        context: expect.objectContaining({
          'dynamodb:LeadingKeys': ['ORDER#1'],
          'dynamodb:Attributes': ['pk', 'payload'],
        }),
      },
    ]);
  });

  it('authorizes a GSI Query on the index ARN with the index partition key as LeadingKeys', () => {
    // Act
    const mapped = map('Query', {
      TableName: OUTBOX,
      IndexName: 'PendingIndex',
      KeyConditionExpression: 'pendingShard = :shard AND pendingSince < :before',
      ExpressionAttributeValues: { ':shard': { N: '3' }, ':before': { S: '2026-01-01' } },
    });

    // Assert
    expect(mapped?.authorizations).toEqual([
      {
        action: 'dynamodb:Query',
        resource: `${tableArn(OUTBOX)}/index/PendingIndex`,
        context: expect.objectContaining({ 'dynamodb:LeadingKeys': ['3'] }),
      },
    ]);
  });

  it('reads the value placeholder on either side of the equality', () => {
    // Act
    const mapped = map('Query', {
      TableName: OUTBOX,
      KeyConditionExpression: ':pk = pk',
      ExpressionAttributeValues: { ':pk': { S: 'ORDER#2' } },
    });

    // Assert
    expect(mapped?.authorizations[0]?.context['dynamodb:LeadingKeys']).toEqual(['ORDER#2']);
  });

  it('reads the legacy KeyConditions parameter', () => {
    // Act
    const mapped = map('Query', {
      TableName: OUTBOX,
      KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'ORDER#3' }] } },
    });

    // Assert
    expect(mapped?.authorizations[0]?.context['dynamodb:LeadingKeys']).toEqual(['ORDER#3']);
  });

  it('does not take a sort-key comparison for the partition key', () => {
    // Act
    const act = () =>
      map('Query', {
        TableName: OUTBOX,
        KeyConditionExpression: 'sk >= :v',
        ExpressionAttributeValues: { ':v': { S: 'a' } },
      });

    // Assert
    expect(act).toThrow(/no equality on partition key pk/);
  });

  it('authorizes a Scan on the index ARN without LeadingKeys', () => {
    // Act
    const mapped = map('Scan', { TableName: OUTBOX, IndexName: 'PendingIndex', Select: 'COUNT' });

    // Assert
    expect(mapped?.authorizations).toEqual([
      {
        action: 'dynamodb:Scan',
        resource: `${tableArn(OUTBOX)}/index/PendingIndex`,
        context: expect.objectContaining({ 'dynamodb:Select': 'COUNT' }),
      },
    ]);
    expect(mapped?.authorizations[0]?.context).not.toHaveProperty('dynamodb:LeadingKeys');
  });
});

describe('mapDynamoDbRequest for batches and transactions', () => {
  it('authorizes BatchWriteItem once per table with the partition keys of its puts and deletes', () => {
    // Act
    const mapped = map('BatchWriteItem', {
      RequestItems: {
        [OUTBOX]: [
          { PutRequest: { Item: { pk: { S: 'A' }, sk: { S: '1' } } } },
          { DeleteRequest: { Key: { pk: { S: 'B' }, sk: { S: '1' } } } },
          { PutRequest: { Item: { pk: { S: 'A' }, sk: { S: '2' } } } },
        ],
        [IDEMPOTENCY]: [{ DeleteRequest: { Key: { id: { S: 'x' } } } }],
      },
    });

    // Assert
    expect(
      mapped?.authorizations.map((a) => [a.action, a.resource, a.context['dynamodb:LeadingKeys']]),
    ).toEqual([
      ['dynamodb:BatchWriteItem', tableArn(OUTBOX), ['A', 'B']],
      ['dynamodb:BatchWriteItem', tableArn(IDEMPOTENCY), ['x']],
    ]);
  });

  it('authorizes BatchGetItem once per table', () => {
    // Act
    const mapped = map('BatchGetItem', {
      RequestItems: { [OUTBOX]: { Keys: [{ pk: { S: 'A' }, sk: { S: '1' } }], ProjectionExpression: 'pk' } },
    });

    // Assert
    expect(mapped?.authorizations).toEqual([
      {
        action: 'dynamodb:BatchGetItem',
        resource: tableArn(OUTBOX),
        context: expect.objectContaining({ 'dynamodb:LeadingKeys': ['A'], 'dynamodb:Attributes': ['pk'] }),
      },
    ]);
  });

  it('authorizes each item of a TransactWriteItems as its own action on its own table', () => {
    // Act
    const mapped = map('TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: OUTBOX, Item: { pk: { S: 'ORDER#1' }, sk: { S: 'v1' } } } },
        {
          Update: {
            TableName: OUTBOX,
            Key: { pk: { S: 'ORDER#1' }, sk: { S: 'head' } },
            UpdateExpression: 'SET v = :v',
          },
        },
        { Delete: { TableName: IDEMPOTENCY, Key: { id: { S: 'lock-1' } } } },
        {
          ConditionCheck: {
            TableName: IDEMPOTENCY,
            Key: { id: { S: 'guard' } },
            ConditionExpression: 'attribute_exists(id)',
          },
        },
      ],
    });

    // Assert
    expect(
      mapped?.authorizations.map((a) => [a.action, a.resource, a.context['dynamodb:LeadingKeys']]),
    ).toEqual([
      ['dynamodb:PutItem', tableArn(OUTBOX), ['ORDER#1']],
      ['dynamodb:UpdateItem', tableArn(OUTBOX), ['ORDER#1']],
      ['dynamodb:DeleteItem', tableArn(IDEMPOTENCY), ['lock-1']],
      ['dynamodb:ConditionCheckItem', tableArn(IDEMPOTENCY), ['guard']],
    ]);
    expect(
      mapped?.authorizations.every((a) => a.context['dynamodb:EnclosingOperation'] === 'TransactWriteItems'),
    ).toBe(true);
  });

  it('authorizes each item of a TransactGetItems as GetItem', () => {
    // Act
    const mapped = map('TransactGetItems', {
      TransactItems: [{ Get: { TableName: IDEMPOTENCY, Key: { id: { S: 'a' } } } }],
    });

    // Assert
    expect(mapped?.authorizations).toEqual([
      expect.objectContaining({ action: 'dynamodb:GetItem', resource: tableArn(IDEMPOTENCY) }),
    ]);
  });

  it('rejects a Get item inside TransactWriteItems', () => {
    // Act
    const act = () =>
      map('TransactWriteItems', {
        TransactItems: [{ Get: { TableName: IDEMPOTENCY, Key: { id: { S: 'a' } } } }],
      });

    // Assert
    expect(act).toThrow(/TransactItems\[0\] is not a TransactWriteItems item/);
  });
});

describe('mapDynamoDbRequest for other operations', () => {
  it.each([
    ['DescribeTable', { TableName: OUTBOX }, 'dynamodb:DescribeTable', tableArn(OUTBOX)],
    ['ListTables', {}, 'dynamodb:ListTables', '*'],
    [
      'ExecuteStatement',
      { Statement: `SELECT * FROM "${OUTBOX}" WHERE pk = ?` },
      'dynamodb:PartiQLSelect',
      tableArn(OUTBOX),
    ],
    [
      'ExecuteStatement',
      { Statement: `UPDATE "${OUTBOX}" SET a = 1 WHERE pk = 'x'` },
      'dynamodb:PartiQLUpdate',
      tableArn(OUTBOX),
    ],
  ])('authorizes %s %j as %s on %s', (operation, body, action, resource) => {
    // Act
    const mapped = map(operation, body);

    // Assert
    expect(mapped?.authorizations.map((a) => [a.action, a.resource])).toEqual([[action, resource]]);
  });

  it('authorizes stream reads on the stream ARN', () => {
    // Arrange
    const streamArn = `arn:aws:dynamodb:ddblocal:${ACCOUNT}:table/${OUTBOX}/stream/2026-01-01T00:00:00.000`;

    // Act
    const mapped = mapDynamoDbRequest(
      'DynamoDBStreams_20120810.GetShardIterator',
      { StreamArn: streamArn },
      env,
    );

    // Assert
    expect(mapped?.authorizations).toEqual([
      { action: 'dynamodb:GetShardIterator', resource: streamArn, context: {} },
    ]);
  });

  it('leaves an operation it does not know unmapped', () => {
    // Act
    const mapped = map('RestoreTableFromBackup', { TargetTableName: 'x' });

    // Assert
    expect(mapped).toBeUndefined();
  });
});
