import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type {
  DlqDestinationConfig,
  IEventSourceDlq,
  IEventSourceMapping,
  IFunction,
} from 'aws-cdk-lib/aws-lambda';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RETENTION_DEFAULTS } from '../../contract/retention';
import { ConstructPropsError, validateDurationInRange } from './errors';

/** Props of {@link FailureBucket}. */
export interface FailureBucketProps {
  /**
   * How long a discarded batch is kept (1..365 days); the sweeper re-publishes it within minutes
   * unless the relay keeps failing, so this is how long an operator has after the sweeper gave up.
   * Bounded by the consumers' memory (contract/retention.ts).
   * @default Duration.days(14)
   */
  readonly retention?: Duration;
  /**
   * What happens to the bucket when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where the relay's stream mapping puts the batches it discards (retries exhausted, record age
 * exceeded). An S3 on-failure destination receives the records themselves with the batch
 * metadata (SQS and SNS destinations receive the metadata only), so the sweeper can re-publish
 * them long after the stream's 24 hours. Encrypted, TLS only, private, objects expire.
 */
export class FailureBucket extends Construct {
  readonly bucket: Bucket;
  readonly retention: Duration;

  constructor(scope: Construct, id: string, props: FailureBucketProps = {}) {
    super(scope, id);
    this.retention = props.retention ?? Duration.days(RETENTION_DEFAULTS.failureBucketRetentionDays);
    validateDurationInRange('failureBucket retention', this.retention, Duration.days(1), Duration.days(365));
    // The lifecycle rule takes whole days; CDK's toDays() would throw an untyped error at synth.
    if (!this.retention.isUnresolved() && !Number.isInteger(this.retention.toDays({ integral: false }))) {
      throw new ConstructPropsError(
        `failureBucket retention must be whole days (given ${this.retention.toHumanString()})`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: this.retention }],
      removalPolicy,
      autoDeleteObjects: false,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds only the stream batches the relay mapping discarded; two roles (the relay, which writes, and the sweeper) reach it. Server access logs would need a second bucket that itself needs logs; CloudTrail data events are the audit trail to enable where required.',
    });
  }

  /** The relay's on-failure destination: grants the mapping's role exactly what Lambda needs to write. */
  onFailureDestination(): IEventSourceDlq {
    return new S3FailureDestination(this.bucket.bucketArn, (grantee) => this.grantWrite(grantee));
  }

  /** Lambda's S3 destination needs s3:PutObject and s3:ListBucket (Lambda docs, "Retain discarded records"). */
  grantWrite(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject'],
      resourceArns: [this.bucket.arnForObjects('aws/lambda/*')],
    });
    Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
    this.acknowledgeObjects(
      grantee,
      'aws/lambda/*',
      "Lambda names each discarded batch's object aws/lambda/<mapping id>/<shard>/<date>/<time>-<uuid>, so the mapping's role may put objects under aws/lambda/ only.",
    );
  }

  /** What the sweeper does with discarded batches: list, read, keep retries, delete. */
  grantRecover(grantee: IGrantable): void {
    Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
    Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resourceArns: [this.bucket.arnForObjects('*')],
    });
    this.acknowledgeObjects(
      grantee,
      '*',
      'The sweeper reads and deletes the batches Lambda wrote (aws/lambda/…) and the retries it keeps (sweeper/retry/…): every object of this bucket, which holds nothing else.',
    );
  }

  private acknowledgeObjects(grantee: IGrantable, pattern: string, reason: string): void {
    const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    const principal = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${pattern}]`,
      reason,
    });
  }
}

/**
 * An S3 on-failure destination for a stream mapping that grants only what Lambda needs, where
 * the CDK's S3OnFailureDestination grants read and write on the whole bucket.
 */
class S3FailureDestination implements IEventSourceDlq {
  constructor(
    private readonly bucketArn: string,
    private readonly grant: (grantee: IGrantable) => void,
  ) {}

  bind(_target: IEventSourceMapping, targetHandler: IFunction): DlqDestinationConfig {
    this.grant(targetHandler);
    return { destination: this.bucketArn };
  }
}
