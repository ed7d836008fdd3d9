import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { ENTITY_TYPES, KEYS, RELAY_ITEMS } from '../../contract/keys';
import { ValidationError } from '../shared/errors';
import type {
  FailedBatch,
  FailedBatchStore,
  Heartbeat,
  LostWindow,
  OutboxScanner,
  RelayBookkeeping,
} from './ports';

/** Prefix under which the stream mapping writes discarded batches (Lambda's S3 on-failure naming). */
export const LAMBDA_FAILURE_PREFIX = 'aws/lambda/';
/** Prefix of the sweeper's own retries of discarded batches. */
export const SWEEPER_RETRY_PREFIX = 'sweeper/retry/';

/** The probe, heartbeat and lost-window items in the app table (`pk = RELAY#…`, `sk = RELAY`). */
export class DynamoDbRelayBookkeeping implements RelayBookkeeping {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async writeProbe(now: Date): Promise<{ seq: number; firstWrittenAt: string }> {
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(RELAY_ITEMS.probePk),
        UpdateExpression:
          'ADD seq :one SET writtenAt = :now, entityType = :type, firstWrittenAt = if_not_exists(firstWrittenAt, :now)',
        ExpressionAttributeValues: {
          ':one': { N: '1' },
          ':now': { S: now.toISOString() },
          ':type': { S: ENTITY_TYPES.relay },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return {
      seq: Number(Attributes?.seq?.N ?? '1'),
      firstWrittenAt: Attributes?.firstWrittenAt?.S ?? now.toISOString(),
    };
  }

  async readHeartbeat(): Promise<Heartbeat | undefined> {
    const item = await this.get(RELAY_ITEMS.heartbeatPk);
    if (!item || typeof item.seenWrittenAt !== 'string') return undefined;
    return { seenSeq: Number(item.seenSeq ?? 0), seenWrittenAt: item.seenWrittenAt };
  }

  async readLostWindow(): Promise<LostWindow | undefined> {
    const item = await this.get(RELAY_ITEMS.lostWindowPk);
    if (!item || typeof item.from !== 'string' || typeof item.openedAt !== 'string') return undefined;
    return {
      from: item.from,
      openedAt: item.openedAt,
      ...(typeof item.to === 'string' ? { to: item.to } : {}),
      ...(typeof item.cursor === 'string' ? { cursor: item.cursor } : {}),
    };
  }

  async saveLostWindow(window: LostWindow): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({
          ...this.plainKey(RELAY_ITEMS.lostWindowPk),
          entityType: ENTITY_TYPES.relay,
          ...window,
        }),
      }),
    );
  }

  async deleteLostWindow(): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: this.key(RELAY_ITEMS.lostWindowPk) }),
    );
  }

  private async get(pk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(pk), ConsistentRead: true }),
    );
    return Item ? unmarshall(Item) : undefined;
  }

  private key(pk: string) {
    return { pk: { S: pk }, sk: { S: KEYS.relaySk } };
  }

  private plainKey(pk: string) {
    return { pk, sk: KEYS.relaySk };
  }
}

/**
 * The failure bucket. The stream mapping writes each discarded batch as an invocation record
 * with `payload` (the event it would have invoked the relay with: a JSON string, or an object);
 * the sweeper writes what it keeps retrying under {@link SWEEPER_RETRY_PREFIX}, with when the
 * batch first failed in the key so that listing tells the age without reading.
 */
export class S3FailedBatchStore implements FailedBatchStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async list(limit: number): Promise<Array<{ key: string; firstFailedAt: string }>> {
    const found: Array<{ key: string; firstFailedAt: string }> = [];
    for (const prefix of [LAMBDA_FAILURE_PREFIX, SWEEPER_RETRY_PREFIX]) {
      let token: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue;
          const retried = retryKeyTime(object.Key);
          found.push({
            key: object.Key,
            firstFailedAt: retried ?? (object.LastModified ?? new Date()).toISOString(),
          });
        }
        token = page.NextContinuationToken;
      } while (token && found.length < limit * 2);
    }
    return found.sort((a, b) => a.firstFailedAt.localeCompare(b.firstFailedAt)).slice(0, limit);
  }

  async read(key: string): Promise<FailedBatch> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const text = (await object.Body?.transformToString('utf8')) ?? '';
    return parseFailedBatch(key, text, (object.LastModified ?? new Date()).toISOString());
  }

  async keep(batch: Omit<FailedBatch, 'key'>): Promise<void> {
    const key = `${SWEEPER_RETRY_PREFIX}${batch.firstFailedAt}/${randomUUID()}.json`;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: 'application/json',
        Body: JSON.stringify({
          firstFailedAt: batch.firstFailedAt,
          attempts: batch.attempts,
          payload: { Records: batch.records },
        }),
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}

/**
 * A stored batch: Lambda's invocation record (`DDBStreamBatchInfo`, `payload`) or the sweeper's
 * retry object (`firstFailedAt`, `attempts`, `payload`).
 *
 * @throws ValidationError when it holds no records
 */
export function parseFailedBatch(key: string, text: string, storedAt: string): FailedBatch {
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ValidationError(`failure bucket object ${key}`, 'is not JSON', text.slice(0, 40));
  }
  // The documented record shows `"payload": "<Whole Event>"`: the event as a JSON string; accept an object too.
  const payload =
    typeof document.payload === 'string' ? (JSON.parse(document.payload) as unknown) : document.payload;
  const records = (payload as { Records?: unknown } | undefined)?.Records;
  if (!Array.isArray(records)) {
    throw new ValidationError(
      `failure bucket object ${key}`,
      'has no payload.Records (is it an S3 on-failure record?)',
      payload,
    );
  }
  const info = document.DDBStreamBatchInfo as { approximateArrivalOfFirstRecord?: string } | undefined;
  return {
    key,
    records: records as DynamoDBRecord[],
    firstFailedAt:
      typeof document.firstFailedAt === 'string'
        ? document.firstFailedAt
        : (info?.approximateArrivalOfFirstRecord ?? storedAt),
    attempts: Number.isInteger(document.attempts) ? (document.attempts as number) : 0,
  };
}

function retryKeyTime(key: string): string | undefined {
  if (!key.startsWith(SWEEPER_RETRY_PREFIX)) return undefined;
  return key.slice(SWEEPER_RETRY_PREFIX.length).split('/')[0];
}

/**
 * Finds outbox items by commit time with a filtered Scan. There is no index on commit time (it
 * would cost a write per event forever); a lost window is a disaster that happens, if ever, after
 * the relay was stopped for a day, and one scan of the table then costs less than an index would
 * in a day of traffic.
 */
export class DynamoDbOutboxScanner implements OutboxScanner {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async scan(from: string, to: string, cursor: string | undefined, limit: number) {
    const page = await this.client.send(
      new ScanCommand({
        TableName: this.tableName,
        FilterExpression: 'entityType = :outbox AND occurredAt >= :from AND occurredAt < :to',
        ExpressionAttributeValues: {
          ':outbox': { S: ENTITY_TYPES.outbox },
          ':from': { S: from },
          ':to': { S: to },
        },
        Limit: limit,
        ConsistentRead: true,
        ...(cursor ? { ExclusiveStartKey: JSON.parse(cursor) } : {}),
      }),
    );
    return {
      items: (page.Items ?? []).map((item) => unmarshall(item)),
      ...(page.LastEvaluatedKey ? { cursor: JSON.stringify(page.LastEvaluatedKey) } : {}),
    };
  }
}
