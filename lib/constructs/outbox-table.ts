import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PENDING } from '../../functions/shared/outbox-item';

/** Attribute holding the epoch-seconds expiry of an outbox item; DynamoDB TTL deletes the item after it. */
export const OUTBOX_TTL_ATTRIBUTE = 'expiresAt';

/**
 * The sparse index of outbox items not yet published.
 *
 * Every outbox item is written with `pendingShard` (`PENDING#0`..`PENDING#7`) and `pendingSince`
 * (the event time, ISO-8601); the relay removes both once every target has the event, so the
 * item drops out of the index. What stays in it is unpublished, oldest first per shard: the
 * sweeper and `npm run outbox -- status` read the age of the oldest one with one query per shard.
 *
 * Eight shards, because one index partition takes about 1,000 writes per second and every
 * outbox insert and every relay removal writes to it; the writer picks the shard by hashing the
 * aggregate key. KEYS_ONLY, because readers need only `pendingSince` and the item key.
 *
 * The names are the writer's (`PENDING` in functions/shared/outbox-item.ts), so the index and
 * the code that fills it cannot drift apart.
 */
export const PENDING_INDEX = {
  name: PENDING.indexName,
  partitionKey: PENDING.shardAttribute,
  sortKey: PENDING.sinceAttribute,
  shards: PENDING.shards,
} as const;

/**
 * Lets `grantee` query the pending index and nothing else: no item reads, no other index.
 *
 * @example
 * grantPendingIndexQuery(outboxTable.table, sweeper);
 */
export function grantPendingIndexQuery(table: ITable, grantee: IGrantable): Grant {
  return Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:Query'],
    resourceArns: [`${table.tableArn}/index/${PENDING_INDEX.name}`],
  });
}

/**
 * Grants `actions` on the table itself but not on its indexes, unlike `ITable.grant`, which
 * adds `<table>/index/*` as soon as the table has an index. For functions that only read and
 * write items by key.
 */
export function grantOnTableOnly(table: ITable, grantee: IGrantable, ...actions: string[]): Grant {
  return Grant.addToPrincipal({ grantee, actions, resourceArns: [table.tableArn] });
}

/** Attribute the Powertools DynamoDB persistence layer writes its expiry to (its default schema). */
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';

// Shared by both tables. Table (AWS::DynamoDB::Table) rather than TableV2 (AWS::DynamoDB::GlobalTable):
// there are no replicas, and the plain resource type is what the local runtime and LocalStack read from the template.
const COMMON_TABLE_PROPS = {
  billingMode: BillingMode.PAY_PER_REQUEST,
  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  // AWS managed key (aws/dynamodb) rather than AWS owned: key use shows up in the account's
  // CloudTrail, and there is still no key policy to maintain; stream readers and grantees need
  // no KMS permissions because the key policy admits any caller DynamoDB authorises. A customer
  // managed key would add a key policy and kms grants for every function for little gain here.
  encryption: TableEncryption.AWS_MANAGED,
} as const;

/** Props of {@link OutboxTable}. */
export interface OutboxTableProps {
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The single table that holds aggregates, outbox items, relay cursors and read models,
 * keyed by string `pk`/`sk`.
 *
 * Its stream carries new images only: the relay publishes inserted outbox items and never
 * needs the old image. Outbox items expire through TTL on `expiresAt`. The sparse
 * {@link PENDING_INDEX} holds the keys of outbox items not yet published.
 */
export class OutboxTable extends Construct {
  /** The DynamoDB table; its stream feeds the relay. */
  readonly table: Table;

  constructor(scope: Construct, id: string, props: OutboxTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      ...COMMON_TABLE_PROPS,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      stream: StreamViewType.NEW_IMAGE,
      timeToLiveAttribute: OUTBOX_TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: PENDING_INDEX.name,
      partitionKey: { name: PENDING_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: PENDING_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }
}

/** Props of {@link IdempotencyTable}. */
export interface IdempotencyTableProps {
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Table for Powertools idempotency records, in the DynamoDB persistence layer's default
 * schema: string partition key `id`, TTL on `expiration`.
 */
export class IdempotencyTable extends Construct {
  /** The DynamoDB table. */
  readonly table: Table;

  constructor(scope: Construct, id: string, props: IdempotencyTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      ...COMMON_TABLE_PROPS,
      partitionKey: { name: 'id', type: AttributeType.STRING },
      timeToLiveAttribute: IDEMPOTENCY_TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
