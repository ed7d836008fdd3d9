import { describe, expect, it } from 'vitest';
import { mapSqsRequest, queueArnFromUrl } from '../../../src/iam/requests/sqs';
import { RequestMappingError } from '../../../src/iam/requests/types';
import { ACCOUNT, queueArn, queueUrl, REGION } from '../fixtures/local-resources';

const env = { accountId: ACCOUNT, region: REGION };
const map = (operation: string, body: Record<string, unknown>) =>
  mapSqsRequest(`AmazonSQS.${operation}`, body, env);
const pairs = (operation: string, body: Record<string, unknown>) =>
  map(operation, body)?.authorizations.map((a) => [a.action, a.resource]);

describe('mapSqsRequest', () => {
  const url = queueUrl('orders.fifo');
  const arn = queueArn('orders.fifo');

  it.each([
    ['SendMessage', 'sqs:SendMessage'],
    ['SendMessageBatch', 'sqs:SendMessage'],
    ['ReceiveMessage', 'sqs:ReceiveMessage'],
    ['DeleteMessage', 'sqs:DeleteMessage'],
    ['DeleteMessageBatch', 'sqs:DeleteMessage'],
    ['ChangeMessageVisibility', 'sqs:ChangeMessageVisibility'],
    ['ChangeMessageVisibilityBatch', 'sqs:ChangeMessageVisibility'],
    ['GetQueueAttributes', 'sqs:GetQueueAttributes'],
    ['PurgeQueue', 'sqs:PurgeQueue'],
  ])('authorizes %s as %s on the ARN of the QueueUrl', (operation, action) => {
    // Act
    const authorized = pairs(operation, { QueueUrl: url });

    // Assert
    expect(authorized).toEqual([[action, arn]]);
  });

  it('authorizes GetQueueUrl on the ARN of the queue name', () => {
    // Act
    const authorized = pairs('GetQueueUrl', { QueueName: 'orders.fifo' });

    // Assert
    expect(authorized).toEqual([['sqs:GetQueueUrl', arn]]);
  });

  it('authorizes ListQueues on every queue of the account', () => {
    // Act
    const authorized = pairs('ListQueues', {});

    // Assert
    expect(authorized).toEqual([['sqs:ListQueues', `arn:aws:sqs:${REGION}:${ACCOUNT}:*`]]);
  });

  it('authorizes StartMessageMoveTask with its dependent actions on the source and SendMessage on the destination', () => {
    // Act
    const authorized = pairs('StartMessageMoveTask', { SourceArn: queueArn('dlq'), DestinationArn: arn });

    // Assert
    expect(authorized).toEqual([
      ['sqs:StartMessageMoveTask', queueArn('dlq')],
      ['sqs:ReceiveMessage', queueArn('dlq')],
      ['sqs:DeleteMessage', queueArn('dlq')],
      ['sqs:GetQueueAttributes', queueArn('dlq')],
      ['sqs:SendMessage', arn],
    ]);
  });

  it('authorizes ListMessageMoveTasks with GetQueueAttributes on the source', () => {
    // Act
    const authorized = pairs('ListMessageMoveTasks', { SourceArn: queueArn('dlq') });

    // Assert
    expect(authorized).toEqual([
      ['sqs:ListMessageMoveTasks', queueArn('dlq')],
      ['sqs:GetQueueAttributes', queueArn('dlq')],
    ]);
  });

  it('reads the source queue out of a CancelMessageMoveTask handle', () => {
    // Arrange
    const handle = Buffer.from(JSON.stringify({ taskId: 't1', sourceArn: queueArn('dlq') })).toString(
      'base64',
    );

    // Act
    const authorized = pairs('CancelMessageMoveTask', { TaskHandle: handle });

    // Assert
    expect(authorized?.[0]).toEqual(['sqs:CancelMessageMoveTask', queueArn('dlq')]);
  });

  it('names the missing field when QueueUrl is absent', () => {
    // Act
    const act = () => map('SendMessage', { MessageBody: 'x' });

    // Assert
    expect(act).toThrow(RequestMappingError);
    expect(act).toThrow('SendMessage: QueueUrl must be a non-empty string (given undefined)');
  });

  it('leaves an operation it does not know unmapped', () => {
    // Act
    const mapped = map('FutureOperation', { QueueUrl: url });

    // Assert
    expect(mapped).toBeUndefined();
  });
});

describe('queueArnFromUrl', () => {
  it.each([
    ['http://sqs.eu-west-1.localhost:4566/000000000000/q', 'arn:aws:sqs:eu-west-1:000000000000:q'],
    ['https://sqs.us-east-1.amazonaws.com/111111111111/q.fifo', 'arn:aws:sqs:us-east-1:111111111111:q.fifo'],
    ['http://127.0.0.1:9324/000000000000/q', `arn:aws:sqs:${REGION}:000000000000:q`],
  ])('turns %s into %s', (url, arn) => {
    // Act
    const derived = queueArnFromUrl(url, env);

    // Assert
    expect(derived).toBe(arn);
  });
});
