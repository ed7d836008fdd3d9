import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ConstructPropsError } from './errors';

/** Attribute holding the epoch-seconds expiry of an outbox item; DynamoDB TTL deletes the item after it. */
export const OUTBOX_TTL_ATTRIBUTE = 'expiresAt';

/** Attribute the Powertools DynamoDB persistence layer writes its expiry to (its default schema). */
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';

/** Item-level DynamoDB actions a grant may name; index, stream and table-level actions are granted elsewhere. */
export type ItemAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem';

/** What {@link grantItems} grants. */
export interface ItemGrant {
  readonly actions: ReadonlyArray<ItemAction>;
  /**
   * Partition-key patterns (`*` wildcards) every item the request touches must match, enforced
   * by IAM with `ForAllValues:StringLike` on `dynamodb:LeadingKeys` (each item of a transaction
   * and of a batch is checked).
   * @default - any partition key
   */
  readonly leadingKeys?: ReadonlyArray<string>;
}

/**
 * Grants item actions on the table itself, not its indexes (unlike `ITable.grant`, which adds
 * `<table>/index/*`), optionally only on items whose partition key matches `leadingKeys`.
 *
 * @example
 * grantItems(table, consumerFunction, { actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], leadingKeys: ['VIEW#order-projection#*'] });
 */
export function grantItems(table: ITable, grantee: IGrantable, grant: ItemGrant): Grant {
  if (grant.actions.length === 0) {
    throw new ConstructPropsError(`a grant on ${table.node.path} must name at least one action (given none)`);
  }
  if (grant.leadingKeys !== undefined && grant.leadingKeys.length === 0) {
    throw new ConstructPropsError(
      `leadingKeys must list at least one partition-key pattern, or be omitted (given [] on ${table.node.path})`,
    );
  }
  return Grant.addToPrincipal({
    grantee,
    actions: [...grant.actions],
    resourceArns: [table.tableArn],
    ...(grant.leadingKeys
      ? { conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.leadingKeys] } } }
      : {}),
  });
}

/** Lets `grantee` Scan the table (the sweeper's recovery of a lost window; Scan cannot be scoped by key). */
export function grantScan(table: ITable, grantee: IGrantable): Grant {
  return Grant.addToPrincipal({ grantee, actions: ['dynamodb:Scan'], resourceArns: [table.tableArn] });
}

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
 * The single table that holds aggregates, outbox items, the relay's bookkeeping and consumers'
 * read models, keyed by string `pk`/`sk` (formats in contract/keys.ts).
 *
 * Its stream carries new images only: the relay publishes what state items announce and reads
 * payloads from outbox items, never an old image. Outbox items expire through TTL on `expiresAt`.
 * No index: the relay keeps no per-event mark, and the sweeper finds what the stream missed in
 * the relay's failure bucket (see docs/decisions.md).
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
 * The consumer kit's table: Powertools idempotency records in the DynamoDB persistence layer's
 * default schema (string partition key `id`, TTL on `expiration`), and the kit's effect markers,
 * checkpoints and parked events, every id prefixed with its consumer's name.
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
