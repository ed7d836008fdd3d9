/** TestEventPattern through the real SDK client, as `aws events test-event-pattern` calls it. */
import { TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { useEventBusFixture } from '../support/event-bus-fixture';

const fixture = useEventBusFixture();

/** The example event of the TestEventPattern CLI reference, with every mandatory field. */
const EVENT = {
  id: '1',
  source: 'com.mycompany.myapp',
  'detail-type': 'myDetailType',
  account: '123456789012',
  region: 'us-east-1',
  time: '2017-04-11T20:11:04Z',
  detail: { state: 'running', 'risk.score': 80 },
};

function failureOf(request: Promise<unknown>): Promise<unknown> {
  return request.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('TestEventPattern', () => {
  it('answers Result true for an event the pattern matches', async () => {
    // Act
    const result = await fixture.events.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ source: ['com.mycompany.myapp'] }),
        Event: JSON.stringify(EVENT),
      }),
    );

    // Assert
    expect(result.Result).toBe(true);
  });

  it('answers Result false for an event the pattern does not match', async () => {
    // Act
    const result = await fixture.events.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ detail: { state: ['stopped'] } }),
        Event: JSON.stringify(EVENT),
      }),
    );

    // Assert
    expect(result.Result).toBe(false);
  });

  it('matches with the same engine as the rules, dotted keys included', async () => {
    // Act
    const result = await fixture.events.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ detail: { risk: { score: [{ numeric: ['>=', 80] }] } } }),
        Event: JSON.stringify(EVENT),
      }),
    );

    // Assert
    expect(result.Result).toBe(true);
  });

  it('accepts an event without resources, as EventBridge does', async () => {
    // Act
    const result = await fixture.events.send(
      new TestEventPatternCommand({
        EventPattern: '{"source":["com.mycompany.myapp"]}',
        Event: JSON.stringify(EVENT),
      }),
    );

    // Assert
    expect(result.Result).toBe(true);
  });

  it('refuses a pattern that is not valid with InvalidEventPatternException and the reason', async () => {
    // Act
    const error = await failureOf(
      fixture.events.send(
        new TestEventPatternCommand({ EventPattern: '{"source": "aws.ec2"}', Event: JSON.stringify(EVENT) }),
      ),
    );

    // Assert
    expect(error).toMatchObject({
      name: 'InvalidEventPatternException',
      message: expect.stringMatching(
        /^Event pattern is not valid\. Reason: "source" must be an object or an array/,
      ),
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses an event that is not JSON with ValidationException', async () => {
    // Act
    const error = await failureOf(
      fixture.events.send(
        new TestEventPatternCommand({ EventPattern: '{"source":["a"]}', Event: 'not json' }),
      ),
    );

    // Assert
    expect(error).toMatchObject({ name: 'ValidationException', message: 'Parameter Event is not valid.' });
  });

  it.each(['id', 'account', 'source', 'time', 'region', 'detail-type'])(
    'refuses an event without %s with ValidationException',
    async (field) => {
      // Arrange
      const event: Record<string, unknown> = { ...EVENT };
      delete event[field];

      // Act
      const error = await failureOf(
        fixture.events.send(
          new TestEventPatternCommand({ EventPattern: '{"source":["a"]}', Event: JSON.stringify(event) }),
        ),
      );

      // Assert
      expect(error).toMatchObject({ name: 'ValidationException', message: 'Parameter Event is not valid.' });
    },
  );

  it('refuses a request without EventPattern, naming the parameter', async () => {
    // Act
    const response = await fetch(fixture.bus.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.TestEventPattern' },
      body: JSON.stringify({ Event: JSON.stringify(EVENT) }),
    });

    // Assert
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      __type: 'ValidationException',
      message:
        "1 validation error detected: Value null at 'eventPattern' failed to satisfy constraint: Member must not be null",
    });
  });
});
