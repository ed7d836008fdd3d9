/** The on-failure invocation record of a discarded stream batch, as the Lambda docs show it. */
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { streamFailureRecord } from '../../src/event-source-mappings/stream-failure-record';

const CONTEXT = {
  requestId: 'c9b8fa9f-5a7f-4e2d-9a3a-111111111111',
  functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Relay',
  condition: 'RetryAttemptsExhausted' as const,
  invocations: 3,
  functionError: 'Unhandled' as const,
  shardId: 'shardId-00000001',
  streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/Orders/stream/2024-05-01T00:00:00.000',
  nowMs: Date.parse('2024-05-01T12:00:00.123Z'),
};

function record(sequence: string, createdSeconds: number): DynamoDBRecord {
  return { dynamodb: { SequenceNumber: sequence, ApproximateCreationDateTime: createdSeconds } };
}

describe('streamFailureRecord', () => {
  it('describes the discarded records with the fields of the documented example', () => {
    // Arrange
    const discarded = [record('100', 1_714_564_800), record('105', 1_714_564_860)];

    // Act
    const failure = streamFailureRecord(discarded, CONTEXT);

    // Assert
    expect(failure).toEqual({
      requestContext: {
        requestId: CONTEXT.requestId,
        functionArn: CONTEXT.functionArn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2024-05-01T12:00:00.123Z',
      DDBStreamBatchInfo: {
        shardId: 'shardId-00000001',
        startSequenceNumber: '100',
        endSequenceNumber: '105',
        approximateArrivalOfFirstRecord: '2024-05-01T12:00:00Z',
        approximateArrivalOfLastRecord: '2024-05-01T12:01:00Z',
        batchSize: 2,
        streamArn: CONTEXT.streamArn,
      },
    });
  });

  it('leaves functionError out when the function did not throw', () => {
    // Act
    const failure = streamFailureRecord([record('1', 0)], {
      ...CONTEXT,
      condition: 'RecordAgeExceeded',
      functionError: undefined,
    });

    // Assert
    expect(failure.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST' });
  });

  it('refuses to describe an empty batch', () => {
    // Act
    const describing = () => streamFailureRecord([], CONTEXT);

    // Assert
    expect(describing).toThrow('a failure record needs at least one discarded record (given none)');
  });
});
