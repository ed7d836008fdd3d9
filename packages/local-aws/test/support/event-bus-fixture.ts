/**
 * A fauxqs engine and a local EventBridge for one test file, reached through
 * the real SDK clients, with helpers to make queues, rules and entries.
 */
import { EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { type SqsEmulator, startSqsEmulator } from '../../src/engines/sqs-emulator';
import {
  type EventBusEmulator,
  type EventBusEmulatorOptions,
  startEventBusEmulator,
} from '../../src/eventbridge/event-bus-emulator';

export const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
/** The custom bus every fixture creates. */
export const BUS = 'orders';

/** What a test file gets from {@link useEventBusFixture}; valid from `beforeAll` on. */
export interface EventBusFixture {
  readonly sqsEngine: SqsEmulator;
  readonly bus: EventBusEmulator;
  readonly sqs: SQSClient;
  readonly events: EventBridgeClient;
  /** `<prefix>-<n>`, unique within the file. */
  unique(prefix: string): string;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  /** One ReceiveMessage of up to 10 messages, with every attribute. */
  receiveAll(queueUrl: string): Promise<Message[]>;
  /** A new queue and a rule sending `OrderPlaced` events of `source` on the orders bus to it. */
  routeSourceToNewQueue(source: string): Promise<string>;
}

/** Starts the engines before the file's tests and stops them after, also when a test failed. */
export function useEventBusFixture(options: Omit<EventBusEmulatorOptions, 'sqs'> = {}): EventBusFixture {
  let counter = 0;
  const state: {
    sqsEngine?: SqsEmulator;
    bus?: EventBusEmulator;
    sqs?: SQSClient;
    events?: EventBridgeClient;
  } = {};
  const required = <K extends keyof typeof state>(key: K): NonNullable<(typeof state)[K]> => {
    const value = state[key];
    if (value === undefined) throw new Error(`the event bus fixture has no ${key}: is beforeAll done?`);
    return value as NonNullable<(typeof state)[K]>;
  };

  beforeAll(async () => {
    state.sqsEngine = await startSqsEmulator();
    state.bus = await startEventBusEmulator({ retryBaseDelayMs: 10, ...options, sqs: state.sqsEngine });
    state.bus.createEventBus(BUS);
    state.sqs = new SQSClient({ endpoint: state.sqsEngine.endpoint, region: 'us-east-1', credentials });
    state.events = new EventBridgeClient({ endpoint: state.bus.endpoint, region: 'us-east-1', credentials });
  });

  afterAll(async () => {
    state.events?.destroy();
    state.sqs?.destroy();
    try {
      await state.bus?.stop();
    } finally {
      await state.sqsEngine?.stop();
    }
  });

  const fixture: EventBusFixture = {
    get sqsEngine() {
      return required('sqsEngine');
    },
    get bus() {
      return required('bus');
    },
    get sqs() {
      return required('sqs');
    },
    get events() {
      return required('events');
    },
    unique(prefix) {
      counter += 1;
      return `${prefix}-${counter}`;
    },
    async createQueue(name, attributes = {}) {
      const { QueueUrl } = await fixture.sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
      );
      if (QueueUrl === undefined) throw new Error(`CreateQueue returned no QueueUrl for ${name}`);
      return QueueUrl;
    },
    async receiveAll(queueUrl) {
      const { Messages } = await fixture.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      return Messages ?? [];
    },
    async routeSourceToNewQueue(source) {
      const queueUrl = await fixture.createQueue(fixture.unique('target'));
      fixture.bus.putRule({
        name: fixture.unique('rule'),
        eventBusName: BUS,
        eventPattern: { source: [source], 'detail-type': ['OrderPlaced'] },
        targets: [{ id: 'queue', queueUrl }],
      });
      return queueUrl;
    },
  };
  return fixture;
}

/** An `OrderPlaced` entry for the orders bus. */
export function entry(source: string, detail: object = { orderId: 'o-1' }): PutEventsRequestEntry {
  return { EventBusName: BUS, Source: source, DetailType: 'OrderPlaced', Detail: JSON.stringify(detail) };
}

/** A string message attribute of a received message. */
export function attribute(message: Message | undefined, name: string): string | undefined {
  return message?.MessageAttributes?.[name]?.StringValue;
}
