import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalAws } from 'local-aws';
import { ENV } from '../../contract/env';
import { ENTITY_TYPES, formatAggregateKey, KEYS } from '../../contract/keys';
import { consumerOutputKey, STACK_OUTPUTS } from '../../contract/stack-outputs';
import { buildEnvelope } from '../../functions/shared/envelope';
import { ConcurrencyConflictError } from '../../functions/shared/errors';
import { STATE_ATTRIBUTES, toOutboxItem } from '../../functions/shared/outbox-item';
import { OutboxWriter } from '../../functions/shared/outbox-writer';
import { OrderApiClient } from '../../tools/order-api/client';
import type { WorkloadResult } from './workload';

/**
 * What the chaos run does to the pipeline besides the workload, while the workload runs: what a
 * hostile caller sends, what a buggy producer writes around the writer, and what an operator does
 * (replay, redrive, skip). Each returns counts for the report; the run's verification then checks
 * that the guarantees held through all of it.
 */

const SOURCE = 'com.example.orders';

/** Poison committed onto live orders: a payload its schema refuses, as a buggy producer could write. */
export interface PoisonReport {
  /** Poison event id → its aggregate key and sequence. */
  readonly events: Map<string, { aggregate: string; sequence: number }>;
}

/** Commits one poison event onto each of `aggregates` (orders the workload is still writing to). */
export async function commitPoison(
  pipeline: LocalAws,
  aggregates: ReadonlyArray<string>,
): Promise<PoisonReport> {
  const events = new Map<string, { aggregate: string; sequence: number }>();
  const dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
  try {
    // Without a catalog: the writer checks nothing about the payload, as a producer that went around the API.
    const writer = new OutboxWriter({
      client: dynamodb,
      tableName: pipeline.outputs[STACK_OUTPUTS.tableName] ?? '',
      source: SOURCE,
    });
    for (const aggregate of aggregates) {
      const id = aggregate.slice('Order#'.length);
      for (let attempt = 0; ; attempt++) {
        const current = await writer.load('Order', id);
        try {
          const result = await writer.commit({
            aggregateType: 'Order',
            aggregateId: id,
            expectedVersion: current?.version ?? 0,
            state: current?.state ?? {},
            events: [{ type: 'OrderConfirmed', data: { total: 'all of it' } }],
          });
          for (const event of result.events) events.set(event.id, { aggregate, sequence: event.sequence });
          break;
        } catch (error) {
          // The workload's own command won the race for this version: read again and retry.
          if (!(error instanceof ConcurrencyConflictError) || attempt > 20) throw error;
        }
      }
    }
  } finally {
    dynamodb.destroy();
  }
  return { events };
}

/** What hostile inputs did. */
export interface HostileReport {
  /** Requests the API refused with 400, nothing committed. */
  readonly refusedByApi: number;
  /** Requests that should have been refused and were not (must be 0). */
  readonly acceptedHostile: number;
  /** Orders with astral-plane text (emoji), which SQS accepts: committed and delivered like any other. */
  readonly astralCommitted: number;
  /** Such orders the API refused even after retries (must be 0: they are valid). */
  readonly astralRefused: number;
  /** Aggregate keys of the outbox items smuggling EventBridge fields, written around the writer: stepped over by the relay. */
  readonly smuggled: ReadonlyArray<string>;
}

const LINE = { sku: 'SKU-H', quantity: 1, unitPrice: 100 };

/** The request bodies a hostile caller sends to `POST /orders`, each of which the API must refuse. */
function hostileBodies(
  run: string,
): Array<{ readonly name: string; readonly body: unknown; readonly raw?: string }> {
  return [
    {
      name: 'U+FFFF, which SQS refuses',
      body: { orderId: `h-${run}-1`, customerId: 'c-\uFFFF', lines: [LINE] },
    },
    {
      name: 'U+FFFE in a key',
      body: { orderId: `h-${run}-2`, customerId: 'c', lines: [{ ...LINE, 'sku\uFFFE': 'x' }] },
    },
    {
      name: '51 lines',
      body: { orderId: `h-${run}-3`, customerId: 'c', lines: Array.from({ length: 51 }, () => LINE) },
    },
    {
      name: 'an envelope field smuggled in',
      body: { orderId: `h-${run}-4`, customerId: 'c', lines: [LINE], 'detail-type': 'OrderCancelled' },
    },
    {
      name: 'an oversize event',
      body: { orderId: `h-${run}-5`, customerId: 'c'.repeat(300_000), lines: [LINE] },
    },
    { name: 'a body that is not JSON', body: undefined, raw: '{"customerId":' },
  ];
}

/**
 * Sends hostile requests through the API (each must be a 400 and commit nothing), places orders
 * whose text SQS accepts but an emulator might not (emoji), and writes outbox items that smuggle
 * EventBridge's `detail-type`/`detail` into the envelope, around the writer, on aggregates of their
 * own (the relay must step over them: failure queue and void markers, never a delivered event).
 */
export async function sendHostileInputs(
  pipeline: LocalAws,
  apiUrl: string,
  workload: Pick<WorkloadResult, 'committed'>,
  count: number,
): Promise<HostileReport> {
  const api = new OrderApiClient({ baseUrl: apiUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const run = Date.now().toString(36);
  let refusedByApi = 0;
  let acceptedHostile = 0;
  for (const { body, raw } of hostileBodies(run)) {
    const response = await api.post('/orders', body, raw === undefined ? {} : { rawBody: raw });
    if (response.status === 400) refusedByApi++;
    else acceptedHostile++;
  }
  let astralCommitted = 0;
  let astralRefused = 0;
  for (let i = 0; i < count; i++) {
    const orderId = `astral-${run}-${i}`;
    const body = { orderId, customerId: 'c-\u{1F600}-\u{10FFFF}', lines: [LINE] };
    // A valid order: retried with its key while the injected DynamoDB faults answer 503, as a caller would.
    const options = { idempotencyKey: `astral-${run}-${i}` };
    let response = await api.post('/orders', body, options);
    for (let retry = 0; retry < 5 && (response.status === 500 || response.status === 503); retry++) {
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** retry));
      response = await api.post('/orders', body, options);
    }
    const result = response.body as { eventIds?: string[]; version?: number };
    if (response.status !== 201 || !result.eventIds) {
      astralRefused++;
      continue;
    }
    astralCommitted++;
    for (const id of result.eventIds) {
      workload.committed.set(id, { aggregate: `Order#${orderId}`, sequence: 1, type: 'OrderPlaced' });
    }
  }
  const smuggled = await writeSmuggledEnvelopes(pipeline, run, count);
  return { refusedByApi, acceptedHostile, astralCommitted, astralRefused, smuggled };
}

/** Outbox items whose envelope carries EventBridge's fields, with the state item announcing them. */
async function writeSmuggledEnvelopes(pipeline: LocalAws, run: string, count: number): Promise<string[]> {
  const dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
  const table = pipeline.outputs[STACK_OUTPUTS.tableName] ?? '';
  const ids: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const aggregateId = `smuggler-${run}-${i}`;
      const pk = formatAggregateKey('Order', aggregateId);
      const envelope = buildEnvelope(
        { type: 'OrderPlaced', data: { customerId: 'c', lines: [LINE], total: 100, currency: 'EUR' } },
        { source: SOURCE, aggregateType: 'Order', aggregateId, sequence: 1, time: new Date() },
      );
      // What an EventBridge event looks like, inside an outbox envelope: a ghost for another order.
      const smuggling = {
        ...envelope,
        'detail-type': 'OrderCancelled',
        detail: { ...envelope, aggregateid: 'victim' },
      };
      const item = {
        ...toOutboxItem(pk, envelope, Math.floor(Date.now() / 1000) + 86_400),
        envelope: { S: JSON.stringify(smuggling) },
      };
      await dynamodb.send(new PutItemCommand({ TableName: table, Item: item }));
      await dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: marshall({
            pk,
            sk: KEYS.stateSk,
            entityType: ENTITY_TYPES.aggregate,
            aggregateType: 'Order',
            aggregateId,
            [STATE_ATTRIBUTES.version]: 1,
            [STATE_ATTRIBUTES.committedFrom]: 1,
            state: {},
          }),
        }),
      );
      ids.push(pk);
    }
  } finally {
    dynamodb.destroy();
  }
  return ids;
}

/** Messages in a queue, visible and in flight. */
export async function queueDepth(pipeline: LocalAws, queueUrl: string): Promise<number> {
  const sqs = new SQSClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.sqs });
  try {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  } finally {
    sqs.destroy();
  }
}

/** Waits until a consumer's DLQ holds at least `count` messages (the poison got there), or the time is up. */
export async function waitForDeadLetters(
  pipeline: LocalAws,
  consumer: string,
  count: number,
  timeoutMs: number,
): Promise<number> {
  const url = pipeline.outputs[consumerOutputKey(consumer, 'deadLetterQueueUrl')] ?? '';
  const until = Date.now() + timeoutMs;
  let depth = await queueDepth(pipeline, url);
  while (depth < count && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    depth = await queueDepth(pipeline, url);
  }
  return depth;
}

/** A message of the relay failure queue: why, and for which aggregate. */
export interface RelayFailure {
  readonly reason: string;
  readonly aggregateKey?: string;
}

/** The messages in the relay failure queue (read with a short visibility timeout). */
export async function relayFailures(pipeline: LocalAws): Promise<RelayFailure[]> {
  const sqs = new SQSClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.sqs });
  const reasons: RelayFailure[] = [];
  try {
    for (let empty = 0; empty < 2; ) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: pipeline.outputs[STACK_OUTPUTS.relayFailureQueueUrl],
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          VisibilityTimeout: 30,
        }),
      );
      if (Messages.length === 0) empty++;
      for (const message of Messages) {
        const aggregateKey = message.MessageAttributes?.aggregateKey?.StringValue;
        reasons.push({
          reason: message.MessageAttributes?.reason?.StringValue ?? '?',
          ...(aggregateKey ? { aggregateKey } : {}),
        });
      }
    }
  } finally {
    sqs.destroy();
  }
  return reasons;
}

/**
 * An ordered consumer that joins mid-run, as a deploy of a new consumer would: until `join`, its
 * queue is in no publisher's ORDERED_QUEUE_URLS and its mapping is stopped; `join` adds the queue
 * (the functions' next execution environments see it, as after UpdateFunctionConfiguration),
 * starts the mapping, and backfills the consumer's history from the table.
 */
export class LateConsumer {
  private readonly queueName: string;
  private readonly originals = new Map<string, string>();

  constructor(
    private readonly pipeline: LocalAws,
    readonly name: string,
  ) {
    const url = pipeline.outputs[consumerOutputKey(name, 'queueUrl')];
    if (!url) throw new Error(`the stack has no queue for consumer ${name}`);
    this.queueName = url.split('/').at(-1) ?? '';
  }

  /** Takes the consumer out: no publisher sends to its queue, its mapping polls nothing. */
  async holdBack(): Promise<void> {
    for (const [id, fn] of this.pipeline.functions) {
      const urls = fn.environment[ENV.orderedQueueUrls];
      if (urls === undefined) continue;
      this.originals.set(id, urls);
      const kept = (JSON.parse(urls) as string[]).filter((url) => !url.endsWith(`/${this.queueName}`));
      fn.updateEnvironment({ [ENV.orderedQueueUrls]: JSON.stringify(kept) });
    }
    await this.mapping().stop();
  }

  /** Deploys it: publishers send to its queue from now on, its mapping starts, then `backfill` sends its history. */
  async join(
    cli: (pipeline: LocalAws, argv: ReadonlyArray<string>) => Promise<{ code: number }>,
  ): Promise<number> {
    for (const [id, urls] of this.originals)
      this.pipeline.functions.get(id)?.updateEnvironment({ [ENV.orderedQueueUrls]: urls });
    await this.mapping().start();
    const argv = ['backfill', '--consumer', this.name];
    let { code } = await cli(this.pipeline, argv);
    // Backfill is safe to repeat (the kit skips what its checkpoint passed); the SQS faults hit the CLI too.
    for (let retry = 0; code !== 0 && retry < 5; retry++) ({ code } = await cli(this.pipeline, argv));
    return code;
  }

  private mapping() {
    const queue = this.pipeline.queues.find((q) => q.name === this.queueName);
    const found = this.pipeline.sqsMappings.find(
      ({ spec }) => spec.source.kind === 'sqs' && spec.source.queueLogicalId === queue?.logicalId,
    );
    if (!found) throw new Error(`consumer ${this.name} has no SQS mapping`);
    return found.mapping;
  }
}
