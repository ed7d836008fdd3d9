/** Queue URLs across the SQS proxy: the port swap in QueueUrl and QueueUrls, and nothing else. */
import { describe, expect, it } from 'vitest';
import { queueUrlBehindProxy, swapQueueUrlPorts } from '../../src/iam/sqs-queue-urls';

const url = (port: number, name = 'Jobs') => `http://sqs.us-east-1.localhost:${port}/000000000000/${name}`;

describe('swapQueueUrlPorts', () => {
  it('rewrites the QueueUrl that names the proxy port and leaves the message body alone', () => {
    // Arrange
    const body = JSON.stringify({ QueueUrl: url(9001), MessageBody: `see ${url(9001)}` });

    // Act
    const swapped = swapQueueUrlPorts(body, 9001, 4566);

    // Assert
    expect(JSON.parse(swapped ?? '{}')).toEqual({ QueueUrl: url(4566), MessageBody: `see ${url(9001)}` });
  });

  it('rewrites every entry of QueueUrls', () => {
    // Act
    const swapped = swapQueueUrlPorts(
      JSON.stringify({ QueueUrls: [url(4566, 'a'), url(4566, 'b')] }),
      4566,
      9001,
    );

    // Assert
    expect(JSON.parse(swapped ?? '{}')).toEqual({ QueueUrls: [url(9001, 'a'), url(9001, 'b')] });
  });

  it('returns undefined when nothing changes, so the original bytes are forwarded', () => {
    // Act
    const results = [
      swapQueueUrlPorts(JSON.stringify({ QueueUrl: url(4566) }), 9001, 4566),
      swapQueueUrlPorts('{"Messages":[]}', 9001, 4566),
      swapQueueUrlPorts('not json, QueueUrl', 9001, 4566),
      swapQueueUrlPorts(JSON.stringify({ QueueUrl: 'not a url' }), 9001, 4566),
    ];

    // Assert
    expect(results).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('queueUrlBehindProxy', () => {
  it('keeps host and path and takes the proxy port', () => {
    // Act
    const behind = queueUrlBehindProxy(url(4566, 'Jobs.fifo'), 9001);

    // Assert
    expect(behind).toBe(url(9001, 'Jobs.fifo'));
  });
});
