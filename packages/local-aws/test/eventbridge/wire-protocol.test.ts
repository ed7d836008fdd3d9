/**
 * The AWS JSON 1.1 wire protocol of the local EventBridge, spoken over plain HTTP.
 */
import { describe, expect, it } from 'vitest';
import { useEventBusFixture } from '../support/event-bus-fixture';

const fixture = useEventBusFixture();

describe('the JSON 1.1 wire protocol', () => {
  it('answers an operation it does not emulate with UnknownOperationException', async () => {
    // Act
    const response = await fetch(fixture.bus.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutPermission' },
      body: '{}',
    });

    // Assert
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('answers a body that is not JSON with SerializationException and the error type header', async () => {
    // Act
    const response = await fetch(fixture.bus.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutEvents' },
      body: '{"Entries": [',
    });

    // Assert
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('SerializationException');
    expect(await response.json()).toEqual({
      __type: 'SerializationException',
      message: 'Request body is not valid JSON',
    });
  });

  it('gives every answer a request id of its own', async () => {
    // Arrange
    const describeDefaultBus = () =>
      fetch(fixture.bus.endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': 'AWSEvents.DescribeEventBus',
        },
        body: '{}',
      });

    // Act
    const [first, second] = await Promise.all([describeDefaultBus(), describeDefaultBus()]);

    // Assert
    expect(first.status).toBe(200);
    expect(first.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.headers.get('x-amzn-requestid')).not.toBe(second.headers.get('x-amzn-requestid'));
  });
});
