import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ConsumerRuntime,
  createConsumer,
  decodeEvent,
  defineConsumer,
  type TypedConsumerDefinition,
} from '../../../functions/consumers/kit';
import type { EventEnvelope } from '../../../functions/shared/envelope';
import { ValidationError } from '../../../functions/shared/errors';
import { eventFixture, sqsRecordOf } from '../../contract/fixtures';

const dynamodb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/consumer-dlq.fifo';
const runtime: ConsumerRuntime = {
  idempotencyTableName: 'idempotency',
  idempotencyTtlSeconds: 3600,
  deadLetterQueueUrl: DLQ_URL,
  dynamodb: new DynamoDBClient({}),
  sqs: new SQSClient({}),
};
const context = {
  functionName: 'consumer',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 30_000,
} as Context;

function sqsEvent(...envelopes: EventEnvelope[]): SQSEvent {
  return { Records: envelopes.map((envelope, index) => sqsRecordOf(envelope, `m-${index}`)) };
}

function withData(envelope: EventEnvelope, changes: Partial<EventEnvelope>): EventEnvelope {
  return { ...envelope, ...changes };
}

/** Reasons of the messages sent to the DLQ, in order. */
function deadLettered(): Array<{ reason?: string; error?: string; consumer?: string }> {
  return sqs.commandCalls(SendMessageCommand).map(({ args }) => ({
    reason: args[0].input.MessageAttributes?.reason?.StringValue,
    error: args[0].input.MessageAttributes?.error?.StringValue,
    consumer: args[0].input.MessageAttributes?.consumer?.StringValue,
  }));
}

function recordingConsumer(ordered: boolean, withSkip = true) {
  const handled: EventEnvelope[] = [];
  const skipped: EventEnvelope[] = [];
  const base = {
    name: 'recording',
    handles: ['OrderPlaced', 'OrderCancelled'] as const,
    async handle(event: EventEnvelope) {
      handled.push(event);
    },
  };
  const skip = async (event: EventEnvelope) => {
    skipped.push(event);
  };
  const definition = (
    ordered ? { ...base, ordered: true, skip } : { ...base, ordered: false, ...(withSkip ? { skip } : {}) }
  ) as TypedConsumerDefinition<'OrderPlaced' | 'OrderCancelled'>;
  return { handled, skipped, handler: createConsumer(definition, runtime) };
}

beforeEach(() => {
  dynamodb.reset();
  sqs.reset();
  dynamodb.resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
});
afterAll(() => {
  dynamodb.restore();
  sqs.restore();
});

describe('createConsumer with typed events', () => {
  it('delivers an older version upcast to the latest, with the latest schemaversion', async () => {
    // Given an OrderPlaced v1 event (no currency)
    const { handled, handler } = recordingConsumer(false);

    // When
    const response = await handler(sqsEvent(eventFixture('OrderPlaced', 1)), context);

    // Then handle got v2 data, the currency defaulted by the upcast
    expect(response.batchItemFailures).toEqual([]);
    expect(handled).toHaveLength(1);
    expect(handled[0]).toMatchObject({
      type: 'OrderPlaced',
      schemaversion: 2,
      data: { currency: 'EUR', total: 2500 },
    });
  });

  it('sends a type that is not in the catalog to the DLQ as UnknownEventType', async () => {
    const { handled, handler } = recordingConsumer(false);
    const teleported = withData(eventFixture('OrderConfirmed'), { type: 'OrderTeleported' });

    const response = await handler(sqsEvent(teleported), context);

    expect(response.batchItemFailures).toEqual([]);
    expect(handled).toEqual([]);
    expect(deadLettered()).toEqual([
      {
        reason: 'UnknownEventType',
        consumer: 'recording',
        error: expect.stringMatching(/recording got OrderTeleported v1, which is not in its event catalog/),
      },
    ]);
  });

  it('sends a payload that does not match its version to the DLQ as InvalidPayload, naming the field but not the value', async () => {
    const { handled, handler } = recordingConsumer(false);
    const placed = eventFixture('OrderPlaced');
    const invalid = withData(placed, {
      data: { ...(placed.data as object), lines: [{ sku: 'SKU-1', quantity: 0, unitPrice: 1250 }] },
    });

    await handler(sqsEvent(invalid), context);

    expect(handled).toEqual([]);
    const [dlq] = deadLettered();
    expect(dlq?.reason).toBe('InvalidPayload');
    expect(dlq?.error).toMatch(
      /recording cannot read data.lines\[0\].quantity does not match OrderPlaced v2: Too small: expected number to be >=1 \(given a value of type number\)/,
    );
  });

  it('sends a version the catalog does not have to the DLQ as UnsupportedSchemaVersion', async () => {
    const { handled, handler } = recordingConsumer(false);

    await handler(sqsEvent(withData(eventFixture('OrderPlaced'), { schemaversion: 3 })), context);

    expect(handled).toEqual([]);
    expect(deadLettered()).toEqual([
      expect.objectContaining({
        reason: 'UnsupportedSchemaVersion',
        error: expect.stringMatching(
          /schemaversion of OrderPlaced must be one of the catalog's versions 1, 2 \(given 3\)/,
        ),
      }),
    ]);
  });

  it('passes a known type an ordered consumer does not handle to its skip path, in order with the rest', async () => {
    // Given an order's history, of which the consumer handles the first and last events
    const { handled, skipped, handler } = recordingConsumer(true);
    const history = ['OrderPlaced', 'OrderItemAdded', 'OrderConfirmed', 'OrderCancelled'] as const;

    // When
    const response = await handler(sqsEvent(...history.map((type) => eventFixture(type))), context);

    // Then
    expect(response.batchItemFailures).toEqual([]);
    expect(handled.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderCancelled']);
    expect(skipped.map((e) => e.type)).toEqual(['OrderItemAdded', 'OrderConfirmed']);
    expect(deadLettered()).toEqual([]);
  });

  it('acknowledges a known type an unordered consumer does not handle when it has no skip path', async () => {
    const { handled, handler } = recordingConsumer(false, false);

    const response = await handler(sqsEvent(eventFixture('OrderConfirmed')), context);

    expect(response.batchItemFailures).toEqual([]);
    expect(handled).toEqual([]);
    expect(deadLettered()).toEqual([]);
  });

  it('skips without checking the payload of a type the consumer does not handle', () => {
    const consumer = defineConsumer({
      name: 'placed-only',
      ordered: false,
      handles: ['OrderPlaced'],
      handle: async () => {},
    });
    const broken = withData(eventFixture('OrderConfirmed'), { data: { total: 'lots' } });

    expect(decodeEvent(consumer, broken)).toEqual({ kind: 'skip', event: broken });
  });
});

describe('createConsumer with raw events', () => {
  it('delivers every event as it came, whatever its type, with no catalog check', async () => {
    const handled: EventEnvelope[] = [];
    const handler = createConsumer(
      { name: 'raw-counter', ordered: false, handle: async (event) => void handled.push(event) },
      runtime,
    );
    const teleported = withData(eventFixture('OrderConfirmed'), { type: 'OrderTeleported', data: {} });

    const response = await handler(sqsEvent(eventFixture('OrderPlaced', 1), teleported), context);

    expect(response.batchItemFailures).toEqual([]);
    expect(handled.map((e) => [e.type, e.schemaversion])).toEqual([
      ['OrderPlaced', 1],
      ['OrderTeleported', 1],
    ]);
  });

  it('can be built without the Lambda environment and reads it on the first invocation', async () => {
    // Given no runtime and no environment: building the handler does not read it
    const handler = createConsumer({ name: 'env-reader', ordered: false, handle: async () => {} });

    // Then the first invocation fails, naming the variable
    await expect(handler(sqsEvent(eventFixture('OrderPlaced')), context)).rejects.toThrow(
      /IDEMPOTENCY_TABLE_NAME environment variable is not set/,
    );
  });
});

describe('defineConsumer', () => {
  it('requires a skip path on an ordered consumer of typed events', () => {
    expect(() =>
      defineConsumer({ name: 'ordered-one', handles: ['OrderPlaced'], handle: async () => {} } as never),
    ).toThrow(ValidationError);
    expect(() =>
      defineConsumer({
        name: 'ordered-one',
        ordered: true,
        handles: ['OrderPlaced'],
        handle: async () => {},
      } as never),
    ).toThrow(/definition.skip is required for an ordered consumer of typed events/);
  });

  it('refuses an event type that is not in the catalog, listing the known ones', () => {
    expect(() =>
      defineConsumer({
        name: 'typo',
        ordered: false,
        handles: ['OrderPlacd'] as never,
        handle: async () => {},
      }),
    ).toThrow(
      /definition.handles must name event types of the catalog \(known: OrderPlaced, .*\) \(given "OrderPlacd"\)/,
    );
  });

  it('refuses an empty list of handled types', () => {
    expect(() =>
      defineConsumer({ name: 'nothing', ordered: false, handles: [], handle: async () => {} }),
    ).toThrow(/definition.handles must be a non-empty array/);
  });
});

describe('groupByMessageGroup', () => {
  it('splits a FIFO batch by group and keeps each group in batch order', async () => {
    // Arrange
    const { groupByMessageGroup } = await import('../../../functions/consumers/kit');
    const record = (id: string, group: string) =>
      ({ messageId: id, attributes: { MessageGroupId: group } }) as unknown as import('aws-lambda').SQSRecord;

    // Act
    const groups = groupByMessageGroup([
      record('1', 'A'),
      record('2', 'B'),
      record('3', 'A'),
      record('4', 'B'),
      record('5', 'C'),
    ]);

    // Assert
    expect(groups.map((g) => g.map((r) => r.messageId))).toEqual([['1', '3'], ['2', '4'], ['5']]);
  });
});
