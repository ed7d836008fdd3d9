import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/env-names';
import type { EventConsumer } from '../../lib/constructs/event-consumer';
import type { OrderApi } from '../../lib/constructs/order-api';
import type { OrderedConsumer } from '../../lib/constructs/ordered-consumer';
import type { OutboxRelay } from '../../lib/constructs/outbox-relay';
import type { OutboxTable } from '../../lib/constructs/outbox-table';
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
  it('every function runs Node.js 22 on arm64 with active tracing and source maps', () => {
    // Assert
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
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
