import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LocalS3Client } from './engines/s3-client';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalResource } from './template/intrinsics';
import type { BucketSpec, QueueSpec, TableSpec, Topology } from './template/topology';

/** A table created locally from the template. */
export interface LocalTable extends LocalResource {
  readonly logicalId: string;
  readonly name: string;
  readonly streamArn?: string;
}

/** A queue created locally from the template. */
export interface LocalQueue extends LocalResource {
  readonly logicalId: string;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly fifo: boolean;
}

/** A bucket created locally from the template. */
export interface LocalBucket extends LocalResource {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
}

/** Creates every table of the topology on DynamoDB Local, named after its logical id. */
export async function createTables(
  client: DynamoDBClient,
  tables: ReadonlyArray<TableSpec>,
): Promise<LocalTable[]> {
  return Promise.all(
    tables.map(async (spec) => {
      const name = spec.logicalId;
      await client.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: spec.keySchema as KeySchemaElement[],
          AttributeDefinitions: spec.attributeDefinitions as AttributeDefinition[],
          BillingMode: 'PAY_PER_REQUEST',
          ...(spec.streamViewType
            ? {
                StreamSpecification: {
                  StreamEnabled: true,
                  StreamViewType: spec.streamViewType as 'NEW_IMAGE',
                },
              }
            : {}),
          ...(spec.globalSecondaryIndexes.length > 0
            ? {
                GlobalSecondaryIndexes: spec.globalSecondaryIndexes.map((gsi) => ({
                  IndexName: gsi.IndexName,
                  KeySchema: gsi.KeySchema,
                  Projection: gsi.Projection as { ProjectionType: 'ALL' },
                })),
              }
            : {}),
        }),
      );
      if (spec.ttlAttribute) {
        // DynamoDB Local accepts the setting; it does not expire items (the sweeper covers retention loss).
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true },
          }),
        );
      }
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      // In the local region, as AWS names it and as the IAM emulation builds it from a TableName:
      // DynamoDB Local's own TableArn says `ddblocal`. The stream ARN is DynamoDB Local's, which
      // the stream API needs (and IAM reads back from the request).
      const arn = `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${name}`;
      const streamArn = Table?.LatestStreamArn;
      return {
        logicalId: spec.logicalId,
        name,
        streamArn,
        ref: name,
        attributes: { Arn: arn, ...(streamArn ? { StreamArn: streamArn } : {}) },
      };
    }),
  );
}

/**
 * Creates every queue of the topology on the SQS emulator, dead-letter queues
 * first so that redrive policies can name them. FIFO names get `.fifo`.
 */
export async function createQueues(
  client: SQSClient,
  queues: ReadonlyArray<QueueSpec>,
  overrides: { visibilityTimeoutSeconds?: number } = {},
): Promise<LocalQueue[]> {
  const created = new Map<string, LocalQueue>();
  const pending = [...queues];
  while (pending.length > 0) {
    const ready = pending.filter(
      (q) => !q.deadLetterQueueLogicalId || created.has(q.deadLetterQueueLogicalId),
    );
    if (ready.length === 0) {
      throw new Error(
        `queues ${pending.map((q) => q.logicalId).join(', ')} have dead-letter queues that are not in the template`,
      );
    }
    await Promise.all(
      ready.map(async (spec) => {
        const name = spec.fifo ? `${spec.logicalId.slice(0, 75)}.fifo` : spec.logicalId.slice(0, 80);
        const dlq = spec.deadLetterQueueLogicalId ? created.get(spec.deadLetterQueueLogicalId) : undefined;
        const attributes: Record<string, string> = { ...spec.attributes };
        // Crash tests want redelivery in seconds, not the stack's 6x function timeout.
        if (overrides.visibilityTimeoutSeconds !== undefined)
          attributes.VisibilityTimeout = String(overrides.visibilityTimeoutSeconds);
        // fauxqs keeps FIFO semantics; the high-throughput settings are accepted but have no local effect.
        if (spec.fifo) attributes.FifoQueue = 'true';
        if (dlq)
          attributes.RedrivePolicy = JSON.stringify({
            deadLetterTargetArn: dlq.arn,
            maxReceiveCount: spec.maxReceiveCount ?? 10,
          });
        const { QueueUrl } = await client.send(
          new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
        );
        if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
        const { Attributes } = await client.send(
          new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
        );
        const arn = Attributes?.QueueArn ?? `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
        created.set(spec.logicalId, {
          logicalId: spec.logicalId,
          name,
          url: QueueUrl,
          arn,
          fifo: spec.fifo,
          ref: QueueUrl,
          attributes: { Arn: arn, QueueUrl, QueueName: name },
        });
      }),
    );
    for (const spec of ready) pending.splice(pending.indexOf(spec), 1);
  }
  return queues.map((q) => created.get(q.logicalId) as LocalQueue);
}

/**
 * Creates every bucket of the topology in fauxqs's S3, named after its logical
 * id (see {@link localBucketName}). `Ref` gives the name; `Fn::GetAtt` gives
 * Arn, DomainName, RegionalDomainName, DualStackDomainName and WebsiteURL in
 * the shapes the AWS::S3::Bucket reference documents (they name AWS hosts:
 * reach the local bucket through the SDK and `AWS_ENDPOINT_URL_S3`).
 *
 * @throws Error when two logical ids give the same bucket name
 */
export async function createBuckets(
  client: LocalS3Client,
  buckets: ReadonlyArray<BucketSpec>,
): Promise<LocalBucket[]> {
  const names = new Map<string, string>();
  for (const spec of buckets) {
    const name = localBucketName(spec.logicalId);
    const other = names.get(name);
    if (other !== undefined)
      throw new Error(`buckets ${other} and ${spec.logicalId} would both be named ${name} locally`);
    names.set(name, spec.logicalId);
  }
  return Promise.all(
    buckets.map(async (spec) => {
      const name = localBucketName(spec.logicalId);
      await client.createBucket(name);
      const arn = `arn:aws:s3:::${name}`;
      return {
        logicalId: spec.logicalId,
        name,
        arn,
        ref: name,
        attributes: {
          Arn: arn,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${LOCAL_REGION}.amazonaws.com`,
          DualStackDomainName: `${name}.s3.dualstack.${LOCAL_REGION}.amazonaws.com`,
          WebsiteURL: `http://${name}.s3-website-${LOCAL_REGION}.amazonaws.com`,
        },
      };
    }),
  );
}

/**
 * A valid bucket name for a logical id: lowercase, characters other than
 * letters, digits and hyphens replaced by hyphens, starting and ending with a
 * letter or digit, 3 to 63 characters (S3 "General purpose bucket naming rules").
 */
export function localBucketName(logicalId: string): string {
  if (typeof logicalId !== 'string' || logicalId === '') {
    throw new TypeError(`a bucket needs a logical id (given ${JSON.stringify(logicalId)})`);
  }
  const cleaned = logicalId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return cleaned.length >= 3 ? cleaned : `${cleaned || 'b'}-bucket`.replace(/^-/, '');
}

/** Lists the resources of a topology the runtime creates, for error messages. */
export function describeTopology(topology: Topology): string {
  return [
    `${topology.tables.length} tables`,
    `${topology.queues.length} queues`,
    `${topology.buckets.length} buckets`,
    `${topology.eventBuses.length} event buses`,
    `${topology.rules.length} rules`,
    `${topology.functions.length} functions`,
    `${topology.mappings.length} event source mappings`,
  ].join(', ');
}
