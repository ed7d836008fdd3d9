import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGGREGATE_TYPES } from '../../contract/aggregates';
import { registeredConsumers } from '../../contract/consumers';
import {
  checkpointId,
  commandPk,
  consumerItemPk,
  consumerItemPrefix,
  consumerRecordPrefix,
  effectMarkerId,
  formatAggregateKey,
  KEYS,
  RELAY_ITEMS,
} from '../../contract/keys';
import { CONSUMER_ITEM_ACTIONS, SQS_MAPPING_ACTIONS } from '../../lib/constructs/consumer-function';
import {
  actionsOf,
  ITEM_WRITE_ACTIONS,
  leadingKeysCondition,
  matchesPattern,
  type Permission,
  permissionsFor,
  permissionsIn,
  permissionsOf,
  permissionsOn,
  STREAM_ACTIONS,
  writesOnItem,
} from './iam-helpers';
import { orderedDeclarations, type Pipeline, synthPipeline } from './pipeline-fixture';
import { arnOf, resourcesOfType } from './template-helpers';

let pipeline: Pipeline;

beforeAll(() => {
  // Arrange
  pipeline = synthPipeline();
});

const consumers = registeredConsumers().map((declaration) => [declaration.name, declaration] as const);
const AGGREGATE_KEY = formatAggregateKey(AGGREGATE_TYPES.order, 'o-1');
const sorted = (permissions: Permission[]) =>
  [...permissions].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
const permissions = (fn: IFunction) => permissionsOf(pipeline.template, fn);
const tableArn = () => arnOf(pipeline.table);
const idempotencyArn = () => arnOf(pipeline.idempotencyTable);

function grantsOn(
  actions: ReadonlyArray<string>,
  resource: unknown,
  patterns?: ReadonlyArray<string>,
): Permission[] {
  return actions.map((action) => ({
    action,
    resource,
    ...(patterns === undefined ? {} : { condition: leadingKeysCondition(patterns) }),
  }));
}

/** Namespaces of the actions, e.g. `dynamodb`. */
function namespacesOf(granted: Permission[]): string[] {
  return [
    ...new Set(granted.map((permission) => permission.action.split(':')[0] ?? permission.action)),
  ].sort();
}

describe('consumer permissions', () => {
  it.each(consumers)(
    '%s may get, put, update and delete only its own items, in both tables',
    (name, declaration) => {
      // Arrange
      const { function: fn } = pipeline.consumer(declaration);

      // Act
      const dynamo = permissionsFor(permissions(fn), 'dynamodb:');

      // Assert
      expect(sorted(dynamo)).toEqual(
        sorted([
          ...grantsOn(CONSUMER_ITEM_ACTIONS, tableArn(), [`${consumerItemPrefix(name)}*`]),
          ...grantsOn(CONSUMER_ITEM_ACTIONS, idempotencyArn(), [`${consumerRecordPrefix(name)}*`]),
        ]),
      );
      expect(actionsOf(dynamo)).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]);
    },
  );

  it.each(consumers)('%s may neither scan, query, batch nor read the stream', (_name, declaration) => {
    // Arrange
    const { function: fn } = pipeline.consumer(declaration);
    const forbidden = [
      'dynamodb:Scan',
      'dynamodb:Query',
      'dynamodb:BatchWriteItem',
      'dynamodb:BatchGetItem',
      ...STREAM_ACTIONS,
    ];

    // Act
    const actions = actionsOf(permissions(fn));

    // Assert
    expect(actions.filter((action) => forbidden.includes(action))).toEqual([]);
  });

  it.each(consumers)(
    '%s may send only to its dead-letter queue and consume only its queue',
    (_name, declaration) => {
      // Arrange
      const { function: fn, queue, deadLetterQueue } = pipeline.consumer(declaration);

      // Act
      const sqs = permissionsFor(permissions(fn), 'sqs:');

      // Assert
      expect(sorted(sqs)).toEqual(
        sorted([
          ...grantsOn(['sqs:SendMessage'], arnOf(deadLetterQueue)),
          ...grantsOn(SQS_MAPPING_ACTIONS, arnOf(queue)),
        ]),
      );
    },
  );

  it.each(consumers)(
    '%s has no permission beyond DynamoDB, SQS, its log group and X-Ray',
    (_name, declaration) => {
      // Act
      const granted = permissions(pipeline.consumer(declaration).function);

      // Assert
      expect(namespacesOf(granted)).toEqual(['dynamodb', 'logs', 'sqs', 'xray']);
    },
  );

  it.each(consumers)('%s may write its own items but no one else’s', (name, declaration) => {
    // Arrange
    const granted = permissions(pipeline.consumer(declaration).function);
    const others = registeredConsumers().filter((other) => other.name !== name);
    const foreignTableKeys = [
      AGGREGATE_KEY,
      commandPk('key-1'),
      ...Object.values(RELAY_ITEMS),
      ...others.map((other) => consumerItemPk(other.name, 'o-1')),
    ];
    const foreignRecordIds = others.flatMap((other) => [
      effectMarkerId(other.name, 'e-1'),
      checkpointId(other.name, AGGREGATE_KEY),
    ]);

    // Act
    const ownWrites = [
      writesOnItem(granted, tableArn(), consumerItemPk(name, 'o-1')),
      writesOnItem(granted, idempotencyArn(), effectMarkerId(name, 'e-1')),
    ];
    const foreignWrites = [
      ...foreignTableKeys.flatMap((key) => writesOnItem(granted, tableArn(), key).map((a) => `${a} ${key}`)),
      ...foreignRecordIds.flatMap((id) =>
        writesOnItem(granted, idempotencyArn(), id).map((a) => `${a} ${id}`),
      ),
    ];

    // Assert
    const ownActions = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
    expect(ownWrites).toEqual([ownActions, ownActions]);
    expect(others.length).toBeGreaterThan(0);
    expect(foreignWrites).toEqual([]);
  });

  it('a consumer whose name prefixes another’s does not reach the other’s keys', () => {
    // Arrange
    const [short, long] = ['order', 'order-projection'];

    // Act
    const reaches = [
      matchesPattern(`${consumerItemPrefix(short)}*`, consumerItemPk(long, 'o-1')),
      matchesPattern(`${consumerRecordPrefix(short)}*`, effectMarkerId(long, 'e-1')),
      matchesPattern(`${consumerRecordPrefix(short)}*`, effectMarkerId(short, 'e-1')),
    ];

    // Assert
    expect(reaches).toEqual([false, false, true]);
  });
});

describe('order API permissions', () => {
  it('may only put and get order aggregates, their outbox items and command records', () => {
    // Act
    const dynamo = permissionsFor(permissions(pipeline.orderApi.function), 'dynamodb:');

    // Assert
    expect(sorted(dynamo)).toEqual(
      sorted(
        grantsOn(['dynamodb:GetItem', 'dynamodb:PutItem'], tableArn(), [
          `${AGGREGATE_TYPES.order}#*`,
          `${KEYS.commandPkPrefix}*`,
        ]),
      ),
    );
  });

  it('may write orders and command records, not consumer, relay or other aggregates’ items', () => {
    // Arrange
    const granted = permissions(pipeline.orderApi.function);
    const foreign = [
      ...registeredConsumers().map((consumer) => consumerItemPk(consumer.name, 'o-1')),
      ...Object.values(RELAY_ITEMS),
      formatAggregateKey('Customer', 'c-1'),
    ];

    // Act
    const own = [AGGREGATE_KEY, commandPk('key-1')].map((key) => writesOnItem(granted, tableArn(), key));
    const foreignWrites = foreign.flatMap((key) => writesOnItem(granted, tableArn(), key));

    // Assert
    expect(own).toEqual([['dynamodb:PutItem'], ['dynamodb:PutItem']]);
    expect(foreignWrites).toEqual([]);
  });

  it('has no permission beyond DynamoDB, its log group and X-Ray', () => {
    // Act
    const granted = permissions(pipeline.orderApi.function);

    // Assert
    expect(namespacesOf(granted)).toEqual(['dynamodb', 'logs', 'xray']);
  });
});

describe('relay permissions', () => {
  it('queries the table, updates its heartbeat and reads the stream, nothing else in DynamoDB', () => {
    // Act
    const dynamo = permissionsFor(permissions(pipeline.relay.function), 'dynamodb:');

    // Assert
    expect(sorted(dynamo)).toEqual(
      sorted([
        ...grantsOn(['dynamodb:Query'], tableArn()),
        ...grantsOn(['dynamodb:UpdateItem'], tableArn(), [RELAY_ITEMS.heartbeatPk]),
        ...grantsOn(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], {
          'Fn::GetAtt': [tableArn()['Fn::GetAtt'][0], 'StreamArn'],
        }),
        ...grantsOn(['dynamodb:ListStreams'], '*'),
      ]),
    );
  });

  it('cannot write an aggregate, an outbox item or a consumer’s item', () => {
    // Arrange
    const granted = permissions(pipeline.relay.function);
    const keys = [
      AGGREGATE_KEY,
      commandPk('key-1'),
      RELAY_ITEMS.probePk,
      consumerItemPk('order-projection', 'o-1'),
    ];

    // Act
    const writes = keys.flatMap((key) => writesOnItem(granted, tableArn(), key));
    const heartbeat = writesOnItem(granted, tableArn(), RELAY_ITEMS.heartbeatPk);

    // Assert
    expect(writes).toEqual([]);
    expect(heartbeat).toEqual(['dynamodb:UpdateItem']);
  });

  it('may only send to the ordered queues and its failure queue, and put events on the bus', () => {
    // Arrange
    const ordered = orderedDeclarations(registeredConsumers()).map((d) => pipeline.ordered(d).queue);

    // Act
    const granted = permissions(pipeline.relay.function);

    // Assert
    expect(sorted([...permissionsFor(granted, 'sqs:'), ...permissionsFor(granted, 'events:')])).toEqual(
      sorted([
        ...[...ordered, pipeline.relay.failureQueue].flatMap((queue) =>
          grantsOn(['sqs:SendMessage'], arnOf(queue)),
        ),
        ...grantsOn(['events:PutEvents'], arnOf(pipeline.eventBus)),
      ]),
    );
  });

  it('may only put discarded batches under aws/lambda/ in the failure bucket, and list it', () => {
    // Arrange
    const bucket = arnOf(pipeline.failureBucket.bucket);

    // Act
    const s3 = permissionsFor(permissions(pipeline.relay.function), 's3:');

    // Assert
    expect(sorted(s3)).toEqual(
      sorted([
        ...grantsOn(['s3:PutObject'], { 'Fn::Join': ['', [bucket, '/aws/lambda/*']] }),
        ...grantsOn(['s3:ListBucket'], bucket),
      ]),
    );
  });
});

describe('sweeper permissions', () => {
  it('writes only the relay bookkeeping items, and scans and queries the table itself', () => {
    // Arrange
    const granted = permissions(pipeline.sweeper.function);

    // Act
    const aggregateWrites = [AGGREGATE_KEY, commandPk('key-1')].flatMap((key) =>
      writesOnItem(granted, tableArn(), key),
    );
    const probeWrites = writesOnItem(granted, tableArn(), RELAY_ITEMS.probePk);
    const reads = permissionsOn(granted, tableArn()).filter((p) =>
      ['dynamodb:Scan', 'dynamodb:Query'].includes(p.action),
    );

    // Assert
    expect(aggregateWrites).toEqual([]);
    expect(probeWrites).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
    expect(sorted(reads)).toEqual(sorted(grantsOn(['dynamodb:Query', 'dynamodb:Scan'], tableArn())));
  });

  it('lists, reads, writes and deletes failure bucket objects', () => {
    // Arrange
    const bucket = arnOf(pipeline.failureBucket.bucket);

    // Act
    const s3 = permissionsFor(permissions(pipeline.sweeper.function), 's3:');

    // Assert
    expect(sorted(s3)).toEqual(
      sorted([
        ...grantsOn(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], {
          'Fn::Join': ['', [bucket, '/*']],
        }),
        ...grantsOn(['s3:ListBucket'], bucket),
      ]),
    );
  });

  it('never reads the idempotency table', () => {
    // Act
    const onIdempotency = permissionsOn(permissions(pipeline.sweeper.function), idempotencyArn());

    // Assert
    expect(onIdempotency).toEqual([]);
  });
});

describe('every role of the stack', () => {
  function allPermissions(): Permission[] {
    return resourcesOfType(pipeline.template, 'AWS::IAM::Policy').flatMap((policy) =>
      permissionsIn((policy.Properties.PolicyDocument as { Statement: never[] }).Statement),
    );
  }

  it('uses Resource * only for X-Ray and dynamodb:ListStreams, which allow nothing narrower', () => {
    // Act
    const onAnything = actionsOf(allPermissions().filter((permission) => permission.resource === '*'));

    // Assert
    expect(onAnything).toEqual(['dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it('names every action in full, with no wildcard', () => {
    // Act
    const wildcards = allPermissions().filter((permission) => permission.action.includes('*'));

    // Assert
    expect(allPermissions().length).toBeGreaterThan(0);
    expect(wildcards).toEqual([]);
  });

  it('reaches no table index', () => {
    // Act
    const onIndexes = allPermissions().filter((permission) =>
      JSON.stringify(permission.resource).includes('/index/'),
    );

    // Assert
    expect(onIndexes).toEqual([]);
  });

  it('writes items only under a dynamodb:LeadingKeys condition', () => {
    // Act
    const unscoped = allPermissions().filter(
      (permission) =>
        (ITEM_WRITE_ACTIONS as ReadonlyArray<string>).includes(permission.action) &&
        permission.condition === undefined,
    );

    // Assert
    expect(unscoped).toEqual([]);
  });
});
