import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerDeclaration } from '../../contract/consumers';
import { ENV } from '../../contract/env';
import type { OutboxPipelineStackProps } from '../../lib/outbox-pipeline-stack';
import { type Pipeline, synthPipeline, unorderedDeclarations } from './pipeline-fixture';
import {
  defined,
  environmentOf,
  propertiesOf,
  resourcesOfType,
  type TemplateResource,
} from './template-helpers';

/**
 * Every prop of the stack set away from its default, each found again in the template: a prop
 * that the stack accepts but does not pass on (as `fifoMaxReceiveCount` once was) fails here.
 */

/** The props of the stack itself, every one required: adding a prop breaks the build of this file until it has a row. */
type OwnProps = Required<Omit<OutboxPipelineStackProps, keyof StackProps>>;

/** How one prop shows in the template. */
interface PropRow<T> {
  /** A value other than the default. */
  readonly value: T;
  /** What the template shows for the prop. */
  readonly find: (pipeline: Pipeline) => unknown;
  /** What `find` reads from the stack given `value`. */
  readonly expected: unknown;
}

const ON_CALL_TOPIC_ARN = 'arn:aws:sns:eu-west-1:111111111111:on-call';

/** Every field of a registry entry away from its default. */
const CUSTOM_REGISTRY: ReadonlyArray<ConsumerDeclaration> = [
  { name: 'order-projection', kind: 'ordered', startPosition: 'first-seen', batchSize: 4, maxConcurrency: 3 },
  {
    name: 'order-activity',
    kind: 'unordered',
    eventTypes: ['OrderPlaced', 'OrderCancelled'],
    batchSize: 7,
    maxConcurrency: 6,
  },
];

/** Distinct values, in a stable order. */
function distinct(values: unknown[]): unknown[] {
  const byJson = new Map(values.map((value) => [JSON.stringify(value), value]));
  return [...byJson.keys()].sort().map((key) => byJson.get(key));
}

function consumerFunctions(template: Template): Array<[string, TemplateResource]> {
  return Object.entries(template.findResources('AWS::Lambda::Function')).filter(
    ([, fn]) => fn.Properties.Environment?.Variables?.[ENV.consumerName] !== undefined,
  ) as Array<[string, TemplateResource]>;
}

function variablesOf(fn: TemplateResource): Record<string, unknown> {
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

/** Each consumer as the template deploys it: environment, queue mapping and, unordered, the rule's event types. */
function deployedConsumers({ template }: Pipeline): unknown[] {
  const mappings = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
  const rules = resourcesOfType(template, 'AWS::Events::Rule');
  return distinct(
    consumerFunctions(template).map(([id, fn]) => {
      const variables = variablesOf(fn);
      const mapping = defined(
        mappings.find((m) => JSON.stringify(m.Properties.FunctionName) === JSON.stringify({ Ref: id })),
        `the queue mapping of ${id}`,
      ).Properties;
      const rule = rules.find(
        (r) =>
          JSON.stringify((r.Properties.Targets as Array<{ Arn: unknown }> | undefined)?.[0]?.Arn) ===
          JSON.stringify(mapping.EventSourceArn),
      );
      return {
        name: variables[ENV.consumerName],
        kind: variables[ENV.consumerKind],
        startPosition: variables[ENV.consumerStartPosition],
        batchSize: mapping.BatchSize,
        maxConcurrency: (mapping.ScalingConfig as { MaximumConcurrency?: number } | undefined)
          ?.MaximumConcurrency,
        eventTypes: (rule?.Properties.EventPattern as Record<string, unknown> | undefined)?.['detail-type'],
      };
    }),
  );
}

const ROWS: { readonly [K in keyof OwnProps]: PropRow<OwnProps[K]> } = {
  removalPolicy: {
    value: RemovalPolicy.DESTROY,
    find: ({ template }) =>
      distinct(
        ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::Logs::LogGroup'].flatMap((type) =>
          resourcesOfType(template, type).map((resource) => `${type} ${resource.DeletionPolicy}`),
        ),
      ),
    expected: ['AWS::DynamoDB::Table Delete', 'AWS::Logs::LogGroup Delete', 'AWS::S3::Bucket Delete'],
  },
  outboxRetention: {
    value: Duration.days(3),
    find: ({ template, orderApi }) => environmentOf(template, orderApi.function)[ENV.outboxRetentionDays],
    expected: '3',
  },
  consumerMemory: {
    value: Duration.days(30),
    find: ({ template }) =>
      distinct(consumerFunctions(template).map(([, fn]) => variablesOf(fn)[ENV.consumerMemorySeconds])),
    expected: [String(30 * 24 * 60 * 60)],
  },
  archiveRetention: {
    value: Duration.days(20),
    find: ({ template }) =>
      resourcesOfType(template, 'AWS::Events::Archive').map((archive) => archive.Properties.RetentionDays),
    expected: [20],
  },
  eventSource: {
    value: 'com.example.shop',
    find: ({ template, orderApi }) =>
      distinct([
        environmentOf(template, orderApi.function)[ENV.eventSource],
        ...[
          ...resourcesOfType(template, 'AWS::Events::Archive'),
          ...resourcesOfType(template, 'AWS::Events::Rule'),
        ]
          .map((resource) => resource.Properties.EventPattern as { source?: unknown[] } | undefined)
          .flatMap((pattern) => pattern?.source ?? []),
      ]),
    expected: ['com.example.shop'],
  },
  fifoMaxReceiveCount: {
    value: 2,
    find: ({ template }) =>
      resourcesOfType(template, 'AWS::SQS::Queue')
        .filter(
          (queue) => queue.Properties.FifoQueue === true && queue.Properties.RedrivePolicy !== undefined,
        )
        .map((queue) => (queue.Properties.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount),
    expected: [2],
  },
  logRetention: {
    value: RetentionDays.ONE_WEEK,
    find: ({ template }) =>
      distinct(
        resourcesOfType(template, 'AWS::Logs::LogGroup').map((group) => group.Properties.RetentionInDays),
      ),
    expected: [7],
  },
  alarmTopic: {
    // Imported in a stack of its own, as a topic owned elsewhere would be.
    value: Topic.fromTopicArn(new Stack(undefined, 'OnCall'), 'OnCall', ON_CALL_TOPIC_ARN),
    find: ({ template }) => ({
      actions: distinct(
        resourcesOfType(template, 'AWS::CloudWatch::Alarm').flatMap((alarm) => [
          ...(alarm.Properties.AlarmActions as unknown[]),
          ...(alarm.Properties.OKActions as unknown[]),
        ]),
      ),
      topicsCreated: resourcesOfType(template, 'AWS::SNS::Topic').length,
    }),
    expected: { actions: [ON_CALL_TOPIC_ARN], topicsCreated: 0 },
  },
  consumers: {
    value: CUSTOM_REGISTRY,
    find: deployedConsumers,
    expected: [
      {
        name: 'order-activity',
        kind: 'unordered',
        startPosition: 'first-seen',
        batchSize: 7,
        maxConcurrency: 6,
        eventTypes: ['OrderPlaced', 'OrderCancelled'],
      },
      {
        name: 'order-projection',
        kind: 'ordered',
        startPosition: 'first-seen',
        batchSize: 4,
        maxConcurrency: 3,
      },
    ],
  },
};

/** The stack props with every row's value, written out: a prop without a row does not compile. */
const NON_DEFAULT_PROPS: OwnProps = {
  removalPolicy: ROWS.removalPolicy.value,
  outboxRetention: ROWS.outboxRetention.value,
  consumerMemory: ROWS.consumerMemory.value,
  archiveRetention: ROWS.archiveRetention.value,
  eventSource: ROWS.eventSource.value,
  fifoMaxReceiveCount: ROWS.fifoMaxReceiveCount.value,
  logRetention: ROWS.logRetention.value,
  alarmTopic: ROWS.alarmTopic.value,
  consumers: ROWS.consumers.value,
};

let defaults: Pipeline;
let custom: Pipeline;

beforeAll(() => {
  // Arrange
  defaults = synthPipeline();
  custom = synthPipeline(NON_DEFAULT_PROPS);
});

describe('OutboxPipelineStack props', () => {
  it('the table has one row for every prop of the stack', () => {
    // Act
    const rows = Object.keys(ROWS).sort();

    // Assert
    expect(rows).toEqual(Object.keys(NON_DEFAULT_PROPS).sort());
    expect(rows).toHaveLength(9);
  });

  it.each(Object.entries(ROWS))('%s: the non-default value is in the template', (_prop, row) => {
    // Act
    const found = row.find(custom);
    const foundByDefault = row.find(defaults);

    // Assert
    expect(found).toEqual(row.expected);
    expect(foundByDefault).not.toEqual(row.expected);
  });

  it('fifoMaxReceiveCount leaves the standard queues of unordered consumers at 5 receives', () => {
    // Arrange
    const [declaration] = unorderedDeclarations(CUSTOM_REGISTRY);
    const consumer = custom.unordered(defined(declaration, 'an unordered consumer in the custom registry'));

    // Act
    const redrive = propertiesOf(custom.template, consumer.queue).RedrivePolicy;

    // Assert
    expect(redrive).toMatchObject({ maxReceiveCount: 5 });
  });
});
