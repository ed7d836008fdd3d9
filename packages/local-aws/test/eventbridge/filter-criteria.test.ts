/**
 * Tests for the local EventBridge event-pattern engine.
 *
 * The example events, patterns and documented outcomes come from:
 * - Amazon EventBridge User Guide, "Amazon EventBridge event patterns"
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 * - "Matching null values and empty strings in Amazon EventBridge event patterns"
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
 * - "Arrays in Amazon EventBridge event patterns"
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
 * - "Content filtering in Amazon EventBridge event patterns" and its summary table,
 *   "Comparison operators for use in event patterns in Amazon EventBridge"
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 * - AWS Lambda Developer Guide, "Lambda event filtering" (comparison operator table),
 *   "Using event filtering with a DynamoDB event source" and "... with an Amazon SQS event source"
 *   https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
 *   https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
 *   https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html
 * - Event Ruler README (https://github.com/aws/event-ruler), the library EventBridge matches
 *   with, for what the user guides leave open: array-consistent matching, `$or`, wildcard escapes.
 * - Amazon SNS Developer Guide, "anything-but" filter policies (same engine), for
 *   `anything-but` over event arrays.
 */
import { describe, expect, it } from 'vitest';
import { EventPatternError } from '../../src/eventbridge/event-pattern';
import { compileFilterCriteria, matchesFilterCriteria } from '../../src/eventbridge/filter-criteria';

// --- Lambda FilterCriteria ----------------------------------------------------

/** A DynamoDB stream record for an outbox row, as Lambda delivers it to a function. */
function outboxStreamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  type: string,
): Record<string, unknown> {
  const image = {
    pk: { S: 'ORDER#o-1' },
    sk: { S: 'OUTBOX#0001' },
    type: { S: type },
    payload: { S: '{"orderId":"o-1"}' },
  };
  return {
    eventID: '7de3041dd709b024af6f29e4fa13d34c',
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1_700_000_000,
      Keys: { pk: image.pk, sk: image.sk },
      NewImage: image,
      SequenceNumber: '111',
      SizeBytes: 120,
      StreamViewType: 'NEW_IMAGE',
    },
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000',
  };
}

/** An SQS record as Lambda delivers it, with the given message body. */
function sqsRecord(body: string): Record<string, unknown> {
  return {
    messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
    receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1545082649183',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1545082649185',
    },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:my-queue',
    awsRegion: 'us-west-2',
  };
}

/** An EventBridge event delivered to SQS as the message body. */
function eventBridgeBody(detailType: string): string {
  return JSON.stringify({
    version: '0',
    id: 'b6b0a8e2-6f0d-4b0a-9d59-3e7f1e0e5e6c',
    'detail-type': detailType,
    source: 'com.example.orders',
    account: '123456789012',
    time: '2024-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { orderId: 'o-1' },
  });
}

describe('matchesFilterCriteria', () => {
  const outboxInserts = [
    {
      Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['outbox'] } } } }),
    },
  ];

  it('lets every record through when there are no filters', () => {
    expect(matchesFilterCriteria(undefined, outboxStreamRecord('REMOVE', 'order'), 'dynamodb')).toBe(true);
  });

  it('lets every record through when the filter list is empty', () => {
    expect(matchesFilterCriteria([], sqsRecord('anything'), 'sqs')).toBe(true);
  });

  it('matches a DynamoDB INSERT of an outbox row', () => {
    expect(matchesFilterCriteria(outboxInserts, outboxStreamRecord('INSERT', 'outbox'), 'dynamodb')).toBe(
      true,
    );
  });

  it('rejects a DynamoDB MODIFY of an outbox row', () => {
    expect(matchesFilterCriteria(outboxInserts, outboxStreamRecord('MODIFY', 'outbox'), 'dynamodb')).toBe(
      false,
    );
  });

  it('rejects a DynamoDB INSERT of another item type', () => {
    expect(matchesFilterCriteria(outboxInserts, outboxStreamRecord('INSERT', 'order'), 'dynamodb')).toBe(
      false,
    );
  });

  it('passes a record that matches any one of several filters', () => {
    const filters = [...outboxInserts, { Pattern: '{"eventName":["REMOVE"]}' }];

    expect(matchesFilterCriteria(filters, outboxStreamRecord('REMOVE', 'order'), 'dynamodb')).toBe(true);
  });

  it('filters on a DynamoDB key as in the documented CustomerName example', () => {
    const filters = [
      { Pattern: '{ "dynamodb" : { "Keys" : { "CustomerName" : { "S" : [ "AnyCompany Industries" ] } } } }' },
    ];
    const record = {
      eventID: '1',
      eventVersion: '1.0',
      dynamodb: {
        ApproximateCreationDateTime: '1678831218.0',
        Keys: { CustomerName: { S: 'AnyCompany Industries' } },
        NewImage: {
          AccountManager: { S: 'Pat Candella' },
          PaymentTerms: { S: '60 days' },
          CustomerName: { S: 'AnyCompany Industries' },
        },
        SequenceNumber: '111',
        SizeBytes: 26,
        StreamViewType: 'NEW_IMAGE',
      },
    };

    expect(matchesFilterCriteria(filters, record, 'dynamodb')).toBe(true);
  });

  it('matches an SQS record whose JSON body has the wanted detail-type', () => {
    const filters = [{ Pattern: '{"body":{"detail-type":["OrderPlaced"]}}' }];

    expect(matchesFilterCriteria(filters, sqsRecord(eventBridgeBody('OrderPlaced')), 'sqs')).toBe(true);
  });

  it('rejects an SQS record whose JSON body has another detail-type', () => {
    const filters = [{ Pattern: '{"body":{"detail-type":["OrderPlaced"]}}' }];

    expect(matchesFilterCriteria(filters, sqsRecord(eventBridgeBody('OrderCancelled')), 'sqs')).toBe(false);
  });

  it('filters an SQS JSON body on RequestCode "BBBB" as documented', () => {
    const filters = [{ Pattern: '{ "body" : { "RequestCode" : [ "BBBB" ] } }' }];
    const body = (code: string) =>
      `{\n "RecordNumber": 1234,\n "TimeStamp": "yyyy-mm-ddThh:mm:ss",\n "RequestCode": "${code}"\n}`;

    expect(matchesFilterCriteria(filters, sqsRecord(body('BBBB')), 'sqs')).toBe(true);
    expect(matchesFilterCriteria(filters, sqsRecord(body('AAAA')), 'sqs')).toBe(false);
  });

  it('compares numbers inside an SQS JSON body numerically, as in "RecordNumber greater than 9999"', () => {
    const filters = [{ Pattern: '{ "body" : { "RecordNumber" : [ { "numeric": [ ">", 9999 ] } ] } }' }];

    expect(matchesFilterCriteria(filters, sqsRecord('{"RecordNumber": 10000}'), 'sqs')).toBe(true);
    expect(matchesFilterCriteria(filters, sqsRecord('{"RecordNumber": 1234}'), 'sqs')).toBe(false);
  });

  it('compares a plain-string SQS body as a string', () => {
    const filters = [{ Pattern: '{"body":[{"prefix":"ORDER "}]}' }];

    expect(matchesFilterCriteria(filters, sqsRecord('ORDER o-1 placed'), 'sqs')).toBe(true);
  });

  it('drops a plain-string SQS body when the filter treats body as JSON', () => {
    // Without Lambda's format check, {"exists": false} would match a body that has no fields.
    const filters = [{ Pattern: '{"body":{"detail-type":[{"exists":false}]}}' }];

    expect(matchesFilterCriteria(filters, sqsRecord('not json'), 'sqs')).toBe(false);
  });

  it('drops a JSON SQS body when the filter treats body as a plain string', () => {
    // Without Lambda's format check, {"exists": false} would match an object body (no leaf value).
    const filters = [{ Pattern: '{"body":[{"exists":false}]}' }];

    expect(matchesFilterCriteria(filters, sqsRecord('{"a":1}'), 'sqs')).toBe(false);
  });

  it('does not parse the body of a DynamoDB record', () => {
    const filters = [{ Pattern: '{"body":{"a":[1]}}' }];

    expect(matchesFilterCriteria(filters, { body: '{"a":1}' }, 'dynamodb')).toBe(false);
  });

  it('names the filter whose pattern is not well formed', () => {
    const filters = [...outboxInserts, { Pattern: '{"eventName":"INSERT"}' }];

    expect(() => matchesFilterCriteria(filters, outboxStreamRecord('REMOVE', 'order'), 'dynamodb')).toThrow(
      /^FilterCriteria\.Filters\[1\]\.Pattern: Invalid event pattern: "eventName" must be an object or an array/,
    );
  });
});

describe('compileFilterCriteria', () => {
  it('returns a record matcher with the same semantics as matchesFilterCriteria', () => {
    const accept = compileFilterCriteria(
      [{ Pattern: '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["outbox"]}}}}' }],
      'dynamodb',
    );

    const kept = [
      outboxStreamRecord('INSERT', 'outbox'),
      outboxStreamRecord('MODIFY', 'outbox'),
      outboxStreamRecord('INSERT', 'order'),
    ].map(accept);

    expect(kept).toEqual([true, false, false]);
  });

  it('rejects a bad pattern when compiled, before any record arrives', () => {
    expect(() => compileFilterCriteria([{ Pattern: '{"eventName":[]}' }], 'dynamodb')).toThrow(
      EventPatternError,
    );
  });
});
