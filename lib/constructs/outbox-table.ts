import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** Attribute holding the epoch-seconds expiry of an outbox item; DynamoDB TTL deletes the item after it. */
export const OUTBOX_TTL_ATTRIBUTE = 'expiresAt';

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
 * needs the old image. Outbox items expire through TTL on `expiresAt`.
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
