import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/env-names';
import type { EventConsumer } from '../../lib/constructs/event-consumer';
import type { OrderApi } from '../../lib/constructs/order-api';
import type { OrderedConsumer } from '../../lib/constructs/ordered-consumer';
import type { OutboxRelay } from '../../lib/constructs/outbox-relay';
import type { OutboxSweeper } from '../../lib/constructs/outbox-sweeper';
import { type OutboxTable, PENDING_INDEX } from '../../lib/constructs/outbox-table';
import type { PipelineObservability } from '../../lib/constructs/pipeline-observability';
import { OutboxPipelineStack, STACK_OUTPUTS } from '../../lib/outbox-pipeline-stack';
import { allowedActions, arnOf, logicalId, roleStatements, statementsAllowing } from './template-helpers';

// Synthesized once, with real esbuild bundling: every test reads the same template.
let stack: OutboxPipelineStack;
let template: Template;
let relay: OutboxRelay;
let orderProjection: OrderedConsumer;
let orderActivity: EventConsumer;
let orderApi: OrderApi;
let outboxTable: OutboxTable;
let sweeper: OutboxSweeper;
let observability: PipelineObservability;

beforeAll(() => {
  // Arrange
  const app = new App();
  stack = new OutboxPipelineStack(app, 'OutboxPipeline');
  template = Template.fromStack(stack);
  relay = stack.node.findChild('Relay') as OutboxRelay;
  orderProjection = stack.node.findChild('OrderProjection') as OrderedConsumer;
  orderActivity = stack.node.findChild('OrderActivity') as EventConsumer;
  orderApi = stack.node.findChild('OrderApi') as OrderApi;
  outboxTable = stack.node.findChild('OutboxTable') as OutboxTable;
  sweeper = stack.node.findChild('Sweeper') as OutboxSweeper;
  observability = stack.node.findChild('Observability') as PipelineObservability;
});

function resourcesOfType(type: string): Record<string, { Properties: Record<string, unknown> }> {
  return template.findResources(type) as Record<string, { Properties: Record<string, unknown> }>;
}

describe('outbox stream mapping', () => {
  it('delivers only inserted outbox items to the relay', () => {
    // Act
    const mapping = {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(outboxTable.table), 'StreamArn'] },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { NewImage: { entityType: { S: ['OUTBOX'] } } },
            }),
          },
        ],
      },
    };

    // Assert
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', mapping);
  });

  it('reports batch item failures, bisects failing batches and caps retries and record age', () => {
    // Act
    const mapping = {
      FunctionName: { Ref: logicalId(relay.function) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 6 * 60 * 60,
      ParallelizationFactor: 1,
    };

    // Assert
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', mapping);
  });

  it('sends records that exhaust their retries to the relay failure queue', () => {
    // Act
    const mapping = {
      FunctionName: { Ref: logicalId(relay.function) },
      DestinationConfig: { OnFailure: { Destination: arnOf(relay.failureQueue) } },
    };

    // Assert
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', mapping);
  });
});

describe('consumer queue mappings', () => {
  it.each([
    ['ordered', () => orderProjection],
    ['event', () => orderActivity],
  ])(
    'the %s consumer reads its queue in batches of 10 and reports batch item failures',
    (_kind, consumer) => {
      // Act
      const { queue, function: fn } = consumer();

      // Assert
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arnOf(queue),
        FunctionName: { Ref: logicalId(fn) },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    },
  );
});

describe('queues', () => {
  it('the ordered consumer queue is a high-throughput FIFO queue that dead-letters after 5 receives', () => {
    // Act
    const properties = template.toJSON().Resources[logicalId(orderProjection.queue)].Properties;

    // Assert
    expect(properties).toMatchObject({
      FifoQueue: true,
      FifoThroughputLimit: 'perMessageGroupId',
      DeduplicationScope: 'messageGroup',
      RedrivePolicy: { deadLetterTargetArn: arnOf(orderProjection.deadLetterQueue), maxReceiveCount: 5 },
    });
  });

  it('the ordered consumer dead-letter queue is FIFO too', () => {
    // Act
    const properties = template.toJSON().Resources[logicalId(orderProjection.deadLetterQueue)].Properties;

    // Assert
    expect(properties).toMatchObject({ FifoQueue: true });
  });

  it('the event consumer queue dead-letters after 5 receives', () => {
    // Act
    const properties = template.toJSON().Resources[logicalId(orderActivity.queue)].Properties;

    // Assert
    expect(properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(orderActivity.deadLetterQueue),
      maxReceiveCount: 5,
    });
  });

  it('consumer queues hide a received message for six times the function timeout', () => {
    // Act
    const timeouts = [orderProjection.queue, orderActivity.queue].map(
      (queue) => template.toJSON().Resources[logicalId(queue)].Properties.VisibilityTimeout,
    );

    // Assert
    expect(timeouts).toEqual([180, 180]);
  });

  it('every queue is encrypted at rest with SSE-SQS', () => {
    // Act
    const queues = Object.values(resourcesOfType('AWS::SQS::Queue'));

    // Assert
    expect(queues.length).toBeGreaterThan(0);
    for (const queue of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('every queue denies requests that do not use TLS', () => {
    // Act
    const queueIds = Object.keys(resourcesOfType('AWS::SQS::Queue'));
    const denied = Object.values(resourcesOfType('AWS::SQS::QueuePolicy'))
      .filter((policy) =>
        (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement.some(
          (statement) =>
            statement.Effect === 'Deny' &&
            JSON.stringify(statement.Condition) ===
              JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
        ),
      )
      .flatMap((policy) => (policy.Properties.Queues as Array<{ Ref: string }>).map((queue) => queue.Ref));

    // Assert
    expect(denied.sort()).toEqual(queueIds.sort());
  });

  it('dead-letter and failure queues keep messages for 14 days', () => {
    // Act
    const queues = [
      orderProjection.deadLetterQueue,
      orderActivity.deadLetterQueue,
      orderActivity.targetDeadLetterQueue,
      relay.failureQueue,
    ];
    const retention = queues.map(
      (queue) => template.toJSON().Resources[logicalId(queue)].Properties.MessageRetentionPeriod,
    );

    // Assert
    expect(retention).toEqual([1_209_600, 1_209_600, 1_209_600, 1_209_600]);
  });
});

describe('tables', () => {
  it('the outbox table streams new images, bills on demand and expires items on expiresAt', () => {
    // Act
    const properties = template.toJSON().Resources[logicalId(outboxTable.table)].Properties;

    // Assert
    expect(properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('the idempotency table has the Powertools default schema and expires records on expiration', () => {
    // Assert
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('every table has point-in-time recovery and KMS encryption and is retained by default', () => {
    // Act
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table'));

    // Assert
    expect(tables).toHaveLength(2);
    for (const table of tables) {
      expect(table).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: {
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        },
      });
    }
  });
});

describe('functions', () => {
  it('every function runs Node.js 24 on arm64 with active tracing and source maps', () => {
    // Assert
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_METRICS_NAMESPACE: 'OutboxPipeline',
        }),
      },
    });
  });

  it('every function logs to its own log group kept for one month', () => {
    // Act
    const functions = Object.values(resourcesOfType('AWS::Lambda::Function'));
    const logGroups = template.toJSON().Resources;
    const retention = functions.map((fn) => {
      const ref = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      return logGroups[ref].Properties.RetentionInDays;
    });

    // Assert
    expect(retention).toEqual(functions.map(() => 30));
  });

  it('function roles carry no AWS managed policy', () => {
    // Assert
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('relay permissions', () => {
  it('the relay may put events on the bus', () => {
    // Act
    const statements = statementsAllowing(roleStatements(template, relay.function), 'events:PutEvents');

    // Assert
    expect(statements.map((statement) => statement.Resource)).toEqual([
      arnOf(stack.node.findChild('EventBus')),
    ]);
  });

  it('the relay may send to the ordered FIFO queue', () => {
    // Act
    const statements = statementsAllowing(roleStatements(template, relay.function), 'sqs:SendMessage');

    // Assert
    expect(statements.flatMap((statement) => statement.Resource)).toContainEqual(
      arnOf(orderProjection.queue),
    );
  });

  it('the relay may update table items but neither put nor delete them', () => {
    // Act
    const actions = allowedActions(roleStatements(template, relay.function));

    // Assert
    expect(actions).toContain('dynamodb:UpdateItem');
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(actions).not.toContain('dynamodb:DeleteItem');
    expect(actions).not.toContain('dynamodb:BatchWriteItem');
  });

  it('the relay learns the ordered queue URLs and its failure queue from its environment', () => {
    // Assert
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.orderedQueueUrls]: {
            'Fn::Join': ['', ['["', { Ref: logicalId(orderProjection.queue) }, '"]']],
          },
          [ENV.relayFailureQueueUrl]: { Ref: logicalId(relay.failureQueue) },
          [ENV.tableName]: { Ref: logicalId(outboxTable.table) },
        }),
      },
    });
  });
});

describe('event consumer rule', () => {
  it('matches the stack source and Order* detail types', () => {
    // Assert
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['com.example.orders'], 'detail-type': [{ prefix: 'Order' }] },
    });
  });

  it('delivers to the consumer queue and dead-letters what it cannot deliver', () => {
    // Assert
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: arnOf(orderActivity.queue),
          DeadLetterConfig: { Arn: arnOf(orderActivity.targetDeadLetterQueue) },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ],
    });
  });
});

describe('consumers', () => {
  it.each([
    ['order-projection', () => orderProjection],
    ['order-activity', () => orderActivity],
  ])(
    '%s gets its name, idempotency settings and dead-letter queue through its environment',
    (name, consumer) => {
      // Act
      const { function: fn, deadLetterQueue } = consumer();
      const environment = template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;

      // Assert
      expect(environment).toMatchObject({
        [ENV.consumerName]: name,
        [ENV.idempotencyTableName]: {
          Ref: logicalId(stack.node.findChild('IdempotencyTable').node.findChild('Table')),
        },
        [ENV.idempotencyTtlSeconds]: String(7 * 24 * 60 * 60),
        [ENV.deadLetterQueueUrl]: { Ref: logicalId(deadLetterQueue) },
      });
    },
  );

  it.each([
    ['order-projection', () => orderProjection],
    ['order-activity', () => orderActivity],
  ])('%s may send to its own dead-letter queue', (_name, consumer) => {
    // Act
    const { function: fn, deadLetterQueue } = consumer();
    const statements = statementsAllowing(roleStatements(template, fn), 'sqs:SendMessage');

    // Assert
    expect(statements.flatMap((statement) => statement.Resource)).toEqual([arnOf(deadLetterQueue)]);
  });
});

describe('producer', () => {
  it('is reachable only through an IAM-authenticated function URL', () => {
    // Assert
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      TargetFunctionArn: arnOf(orderApi.function),
    });
  });

  it('may write through transactions and read, but not delete or scan', () => {
    // Act
    const actions = allowedActions(roleStatements(template, orderApi.function)).filter((action) =>
      action.startsWith('dynamodb:'),
    );

    // Assert
    expect(actions.sort()).toEqual([
      'dynamodb:ConditionCheckItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
  });

  it('gets the event source and outbox retention through its environment', () => {
    // Act
    const environment =
      template.toJSON().Resources[logicalId(orderApi.function)].Properties.Environment.Variables;

    // Assert
    expect(environment).toMatchObject({
      [ENV.eventSource]: 'com.example.orders',
      [ENV.outboxRetentionDays]: '7',
    });
  });
});

describe('stack', () => {
  it('archives the events of its source for 30 days', () => {
    // Assert
    template.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: { source: ['com.example.orders'] },
      RetentionDays: 30,
    });
  });

  it('outputs every name and URL an end-to-end test needs', () => {
    // Act
    const outputs = Object.keys(template.toJSON().Outputs);

    // Assert
    expect(outputs.sort()).toEqual(Object.values(STACK_OUTPUTS).sort());
  });

  it('passes cdk-nag AwsSolutions checks with no unacknowledged errors or warnings', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map(
      (violation) =>
        `${violation.severity} ${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );

    // Assert
    expect(findings).toEqual([]);
  });

  it('with removal policy DESTROY, deletes its tables and log groups with the stack', () => {
    // Arrange
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const destroyable = new OutboxPipelineStack(app, 'Destroyable', { removalPolicy: RemovalPolicy.DESTROY });

    // Act
    const destroyableTemplate = Template.fromStack(destroyable);

    // Assert
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Logs::LogGroup']) {
      const resources = Object.values(destroyableTemplate.findResources(type));
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(resource.DeletionPolicy).toBe('Delete');
    }
  });
});

interface CfnAlarm {
  readonly MetricName: string;
  readonly Namespace: string;
  readonly Statistic: string;
  readonly Period: number;
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
  readonly TreatMissingData: string;
  readonly Dimensions: Array<{ Name: string; Value: unknown }>;
  readonly AlarmActions: unknown[];
  readonly OKActions: unknown[];
}

function alarms(): CfnAlarm[] {
  return Object.values(resourcesOfType('AWS::CloudWatch::Alarm')).map(
    (resource) => resource.Properties as unknown as CfnAlarm,
  );
}

function alarmsOn(namespace: string, metricName: string): CfnAlarm[] {
  return alarms().filter((alarm) => alarm.Namespace === namespace && alarm.MetricName === metricName);
}

/** Logical id inside `{ 'Fn::GetAtt': [id, attribute] }` or `{ Ref: id }`. */
function referencedId(value: unknown): string | undefined {
  const reference = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string } | undefined;
  return reference?.['Fn::GetAtt']?.[0] ?? reference?.Ref;
}

/**
 * Every queue the template uses as a place for failures: redrive targets of queues, dead-letter
 * queues of rule targets and on-failure destinations of event source mappings.
 */
function deadLetterQueueIds(): string[] {
  interface CfnFailurePaths {
    readonly RedrivePolicy?: { readonly deadLetterTargetArn?: unknown };
    readonly Targets?: ReadonlyArray<{ readonly DeadLetterConfig?: { readonly Arn?: unknown } }>;
    readonly DestinationConfig?: { readonly OnFailure?: { readonly Destination?: unknown } };
  }
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties?: CfnFailurePaths }
  >;
  const ids = new Set<string>();
  for (const { Properties: p = {} } of Object.values(resources)) {
    const candidates = [
      p.RedrivePolicy?.deadLetterTargetArn,
      ...(p.Targets ?? []).map((target) => target.DeadLetterConfig?.Arn),
      p.DestinationConfig?.OnFailure?.Destination,
    ];
    for (const candidate of candidates) {
      const id = referencedId(candidate);
      if (id !== undefined && resources[id]?.Type === 'AWS::SQS::Queue') ids.add(id);
    }
  }
  return [...ids].sort();
}

describe('pending index', () => {
  it('the outbox table has a keys-only PendingIndex on pendingShard and pendingSince', () => {
    // Act
    const properties = template.toJSON().Resources[logicalId(outboxTable.table)].Properties;

    // Assert
    expect(properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'PendingIndex',
        KeySchema: [
          { AttributeName: 'pendingShard', KeyType: 'HASH' },
          { AttributeName: 'pendingSince', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
    expect(properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'pendingShard', AttributeType: 'S' },
        { AttributeName: 'pendingSince', AttributeType: 'S' },
      ]),
    );
  });

  it('exports the index names the writer fills in', () => {
    // Assert
    expect(PENDING_INDEX).toEqual({
      name: 'PendingIndex',
      partitionKey: 'pendingShard',
      sortKey: 'pendingSince',
      shards: 8,
    });
  });

  it('the relay reads and updates items of the table only: no index, no scan', () => {
    // Act
    const dynamoStatements = roleStatements(template, relay.function).filter((statement) =>
      allowedActions([statement]).some(
        (action) => action.startsWith('dynamodb:') && action !== 'dynamodb:ListStreams',
      ),
    );
    const tableStatements = dynamoStatements.filter((statement) =>
      allowedActions([statement]).includes('dynamodb:UpdateItem'),
    );

    // Assert
    expect(tableStatements).toHaveLength(1);
    expect(allowedActions(tableStatements).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(tableStatements[0]?.Resource).toEqual(arnOf(outboxTable.table));
    expect(allowedActions(dynamoStatements)).not.toContain('dynamodb:Scan');
  });

  it('only the sweeper may read an index, and only the pending index', () => {
    // Act
    const policies = Object.entries(resourcesOfType('AWS::IAM::Policy'));
    const withIndex = policies.filter(([, policy]) => JSON.stringify(policy.Properties).includes('/index/'));

    // Assert
    expect(withIndex.map(([id]) => id)).toEqual([
      logicalId(sweeper.function.role?.node.findChild('DefaultPolicy') as never),
    ]);
    expect(statementsAllowing(roleStatements(template, sweeper.function), 'dynamodb:Query')).toContainEqual(
      expect.objectContaining({
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [arnOf(outboxTable.table), '/index/PendingIndex']] },
      }),
    );
  });
});

describe('sweeper', () => {
  it('runs every 5 minutes and re-publishes events pending for more than 5 minutes', () => {
    // Act
    const environment =
      template.toJSON().Resources[logicalId(sweeper.function)].Properties.Environment.Variables;

    // Assert
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: arnOf(sweeper.function) })],
    });
    expect(environment).toMatchObject({
      [ENV.sweepAfterSeconds]: '300',
      POWERTOOLS_SERVICE_NAME: 'outbox-sweeper',
    });
  });

  it('gets the relay environment, so it publishes to the same bus and ordered queues', () => {
    // Act
    const [relayEnvironment, sweeperEnvironment] = [relay.function, sweeper.function].map(
      (fn) => template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables,
    );

    // Assert
    for (const name of [ENV.tableName, ENV.eventBusName, ENV.relayFailureQueueUrl, ENV.orderedQueueUrls]) {
      expect(sweeperEnvironment[name]).toEqual(relayEnvironment[name]);
    }
  });
});

describe('alarms', () => {
  it('alarm when the relay stays more than 5 minutes behind the stream for 3 minutes', () => {
    // Act
    const found = alarmsOn('AWS/Lambda', 'IteratorAge');

    // Assert
    expect(found).toEqual([
      expect.objectContaining({
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 300_000,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(relay.function) } }],
      }),
    ]);
  });

  it('alarm when an outbox event is unpublished for more than 15 minutes, or the sweeper falls silent', () => {
    // Act
    const found = alarmsOn('OutboxPipeline', 'OldestUnpublishedAgeSeconds');

    // Assert
    expect(found).toEqual([
      expect.objectContaining({
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 900,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        TreatMissingData: 'breaching',
        Dimensions: [{ Name: 'service', Value: 'outbox-sweeper' }],
      }),
    ]);
  });

  it('alarm when relay publish failures persist in 2 of 3 five-minute periods', () => {
    // Act
    const found = alarmsOn('OutboxPipeline', 'PublishFailures');

    // Assert
    expect(found).toEqual([
      expect.objectContaining({
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        TreatMissingData: 'notBreaching',
        Dimensions: [{ Name: 'service', Value: 'outbox-relay' }],
      }),
    ]);
  });

  it('alarm on the first malformed outbox item', () => {
    // Act
    const found = alarmsOn('OutboxPipeline', 'MalformedOutboxItems');

    // Assert
    expect(found).toEqual([
      expect.objectContaining({
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        Dimensions: [{ Name: 'service', Value: 'outbox-relay' }],
      }),
    ]);
  });

  it('alarm on errors of every function in the stack, summed over 5 minutes', () => {
    // Act
    const functionIds = Object.keys(resourcesOfType('AWS::Lambda::Function')).sort();
    const found = alarmsOn('AWS/Lambda', 'Errors');

    // Assert
    expect(found.map((alarm) => referencedId(alarm.Dimensions[0]?.Value)).sort()).toEqual(functionIds);
    for (const alarm of found) {
      expect(alarm).toMatchObject({
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarm as soon as any dead-letter or failure queue holds a message', () => {
    // Act
    const deadLetterQueues = deadLetterQueueIds();
    const found = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible');

    // Assert
    expect(deadLetterQueues).toHaveLength(4);
    expect(found.map((alarm) => referencedId(alarm.Dimensions[0]?.Value)).sort()).toEqual(deadLetterQueues);
    for (const alarm of found) {
      expect(alarm).toMatchObject({
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('every alarm notifies the alarm topic when it fires and when it recovers', () => {
    // Act
    const topic = { Ref: logicalId(observability.alarmTopic) };

    // Assert
    expect(alarms().length).toBeGreaterThan(0);
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual([topic]);
      expect(alarm.OKActions).toEqual([topic]);
    }
  });

  it('the alarm topic is encrypted with a rotating key that CloudWatch alarms may use', () => {
    // Act
    const key = observability.node.findChild('AlarmTopicKey');

    // Assert
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(key) });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('the alarm topic refuses requests without TLS and lets CloudWatch alarms publish', () => {
    // Assert
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
          }),
        ]),
      },
    });
  });
});

describe('dashboard', () => {
  it('charts throughput, lag, iterator age, oldest unpublished, consumers, dead-letter queues and errors', () => {
    // Act
    const body = JSON.stringify(
      Object.values(resourcesOfType('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody,
    );

    // Assert
    for (const expected of [
      'EventsPublished',
      'PublishLag',
      'p50',
      'p99',
      'IteratorAge',
      'OldestUnpublishedAgeSeconds',
      'EventsProcessed',
      'DuplicatesSuppressed',
      'EventsDeadLettered',
      'ApproximateNumberOfMessagesVisible',
      'Errors',
      'order-projection',
      'order-activity',
    ]) {
      expect(body).toContain(expected);
    }
  });
});

describe('OutboxPipelineStack.addEventConsumer', () => {
  it('refuses detailTypes and detailTypePrefix together, and an empty detailTypes', async () => {
    // Arrange
    const { App } = await import('aws-cdk-lib');
    const { OutboxPipelineStack } = await import('../../lib/outbox-pipeline-stack');
    const stack = new OutboxPipelineStack(
      new App({ context: { 'aws:cdk:bundling-stacks': [] } }),
      'AddConsumerProps',
    );

    // Act / Assert
    expect(() =>
      stack.addEventConsumer('Both', {
        entry: 'consumers/order-activity',
        detailTypes: ['OrderPlaced'],
        detailTypePrefix: 'Order',
      }),
    ).toThrow(/Both: give detailTypes or detailTypePrefix, not both/);
    expect(() =>
      stack.addEventConsumer('Empty', { entry: 'consumers/order-activity', detailTypes: [] }),
    ).toThrow(/Empty: detailTypes must name at least one event type \(given \[\]\)/);
  });
});
