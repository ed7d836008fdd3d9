import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Policy } from 'aws-cdk-lib/aws-iam';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { consumerItemPrefix, consumerRecordPrefix } from '../../../contract/keys';
import {
  CONSUMER_ITEM_ACTIONS,
  ConsumerFunction,
  type ConsumerFunctionProps,
  consumerVisibilityTimeout,
  SQS_MAPPING_ACTIONS,
  validateConsumerName,
} from '../../../lib/constructs/consumer-function';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { actionsOf, leadingKeysOf, permissionsFor, permissionsOf, permissionsOn } from '../iam-helpers';
import {
  arnOf,
  defined,
  logicalId,
  messageOf,
  newUnbundledStack,
  pipelineBase,
  refOf,
  resourcesOf,
  thrownBy,
} from '../template-helpers';

function consumerFunctionWith(props: Partial<ConsumerFunctionProps> = {}) {
  const stack = newUnbundledStack();
  const { table, idempotencyTable } = pipelineBase(stack);
  const queue = new Queue(stack, 'Queue');
  const deadLetterQueue = new Queue(stack, 'DeadLetterQueue');
  const fn = new ConsumerFunction(stack, 'Function', {
    consumerName: 'order-activity',
    kind: 'unordered',
    startPosition: 'first-seen',
    table,
    idempotencyTable,
    queue,
    deadLetterQueue,
    batchSize: 10,
    ...props,
  });
  return { fn, table, idempotencyTable, queue, deadLetterQueue, template: Template.fromStack(stack) };
}

describe('consumerVisibilityTimeout', () => {
  it.each([
    [undefined, undefined, 180],
    [Duration.seconds(60), undefined, 360],
    [undefined, Duration.seconds(5), 185],
  ])('with timeout %o and batching window %o is %i seconds', (timeout, window, seconds) => {
    // Act
    const visibility = consumerVisibilityTimeout(timeout, window);

    // Assert
    expect(visibility.toSeconds()).toBe(seconds);
  });
});

describe('validateConsumerName', () => {
  it('accepts a kebab-case name', () => {
    // Act
    const act = () => validateConsumerName('order-emails');

    // Assert
    expect(act).not.toThrow();
  });

  it.each(['Order', 'order_emails', 'order--emails', '1order', 'o', 'a'.repeat(41)])(
    'refuses %j with a ConstructPropsError that quotes it',
    (name) => {
      // Act
      const error = thrownBy(() => validateConsumerName(name));

      // Assert
      expect(error).toBeInstanceOf(ConstructPropsError);
      expect(messageOf(error)).toContain(`(given ${JSON.stringify(name)})`);
    },
  );
});

describe('ConsumerFunction', () => {
  it('may touch only the items under its own prefix in each table', () => {
    // Act
    const { fn, table, idempotencyTable, template } = consumerFunctionWith();

    // Assert
    const granted = permissionsOf(template, fn);
    for (const [target, prefix] of [
      [table, consumerItemPrefix('order-activity')],
      [idempotencyTable, consumerRecordPrefix('order-activity')],
    ] as const) {
      const onTable = permissionsOn(granted, arnOf(target));
      expect(actionsOf(onTable)).toEqual([...CONSUMER_ITEM_ACTIONS].sort());
      expect(onTable.map(leadingKeysOf)).toEqual(onTable.map(() => [`${prefix}*`]));
    }
  });

  it('may send only to its dead-letter queue and consume only its queue', () => {
    // Act
    const { fn, queue, deadLetterQueue, template } = consumerFunctionWith();

    // Assert
    const sqs = permissionsFor(permissionsOf(template, fn), 'sqs:');
    expect(actionsOf(permissionsOn(sqs, arnOf(deadLetterQueue)))).toEqual(['sqs:SendMessage']);
    expect(actionsOf(permissionsOn(sqs, arnOf(queue)))).toEqual([...SQS_MAPPING_ACTIONS].sort());
    expect(sqs).toHaveLength(1 + SQS_MAPPING_ACTIONS.length);
  });

  it('creates its queue mapping only after the role may read the queue', () => {
    // Act
    const { fn, template } = consumerFunctionWith();

    // Assert
    const policy = defined(
      fn.role?.node.tryFindChild('DefaultPolicy') as Policy | undefined,
      'a default policy',
    );
    const mapping = defined(
      Object.values(resourcesOf(template)).find(
        (resource) =>
          resource.Type === 'AWS::Lambda::EventSourceMapping' &&
          JSON.stringify(resource.Properties.FunctionName) === JSON.stringify(refOf(fn)),
      ),
      'a queue mapping',
    ) as { DependsOn?: string[] };
    expect(mapping.DependsOn).toContain(logicalId(policy));
  });

  it.each<[string, Partial<ConsumerFunctionProps>, RegExp]>([
    [
      'a consumer memory beyond 365 days',
      { consumerMemory: Duration.days(366) },
      /consumerMemory must be between 14 days and 365 days \(given 366 days\)/,
    ],
    [
      'a maximum concurrency above 1000',
      { maxConcurrency: 1001 },
      /maxConcurrency must be between 2 and 1000 \(given 1001\)/,
    ],
    [
      'an empty consumer name',
      { consumerName: '' },
      /consumerName: a consumer name must be kebab-case.*\(given ""\)/,
    ],
  ])('rejects %s with a ConstructPropsError', (_case, props, message) => {
    // Act
    const error = thrownBy(() => consumerFunctionWith(props));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});
