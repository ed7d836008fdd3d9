import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ConsumerDeclaration, registeredConsumers } from '../../contract/consumers';
import { ENV } from '../../contract/env';
import { ENTITY_TYPES, RELAY_ITEMS } from '../../contract/keys';
import { SERVICES } from '../../contract/metrics';
import { CONSUMER_OUTPUTS, consumerOutputKey, STACK_OUTPUTS } from '../../contract/stack-outputs';
import { orderedDeclarations, type Pipeline, synthPipeline, unorderedDeclarations } from './pipeline-fixture';
import {
  arnOf,
  defined,
  environmentOf,
  logicalId,
  propertiesOf,
  refOf,
  resourceOf,
  resourcesOfType,
} from './template-helpers';

// Synthesized once, with real esbuild bundling: every test reads the same template.
let pipeline: Pipeline;

beforeAll(() => {
  // Arrange
  pipeline = synthPipeline({}, { bundle: true });
});

const consumers = registeredConsumers().map((declaration) => [declaration.name, declaration] as const);
const orderedConsumers = () => orderedDeclarations(registeredConsumers()).map((d) => pipeline.ordered(d));
const unordered = unorderedDeclarations(registeredConsumers()).map(
  (declaration) => [declaration.name, declaration] as const,
);

function relayMapping(): Record<string, unknown> {
  const mappings = resourcesOfType(pipeline.template, 'AWS::Lambda::EventSourceMapping').filter(
    (mapping) =>
      JSON.stringify(mapping.Properties.FunctionName) === JSON.stringify(refOf(pipeline.relay.function)),
  );
  expect(mappings).toHaveLength(1);
  return defined(mappings[0], 'the relay stream mapping').Properties;
}

describe('outbox stream mapping', () => {
  it('delivers inserted and modified state and outbox items, and the sweeper probe, to the relay', () => {
    // Act
    const mapping = relayMapping();

    // Assert
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': [logicalId(pipeline.table), 'StreamArn'] });
    expect(mapping.FilterCriteria).toEqual({
      Filters: [
        {
          Pattern: JSON.stringify({
            eventName: ['INSERT', 'MODIFY'],
            dynamodb: { NewImage: { entityType: { S: [ENTITY_TYPES.aggregate, ENTITY_TYPES.outbox] } } },
          }),
        },
        { Pattern: JSON.stringify({ dynamodb: { Keys: { pk: { S: [RELAY_ITEMS.probePk] } } } }) },
      ],
    });
  });

  it('reports batch item failures, bisects failing batches and caps retries and record age', () => {
    // Act
    const mapping = relayMapping();

    // Assert
    expect(mapping).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 6 * 60 * 60,
      ParallelizationFactor: 1,
    });
  });

  it('puts the batches it discards in the failure bucket', () => {
    // Act
    const mapping = relayMapping();

    // Assert
    expect(mapping.DestinationConfig).toEqual({
      OnFailure: { Destination: arnOf(pipeline.failureBucket.bucket) },
    });
  });
});

describe('failure bucket', () => {
  it('is private, encrypted, owner-enforced and expires objects after 14 days', () => {
    // Act
    const properties = propertiesOf(pipeline.template, pipeline.failureBucket.bucket);

    // Assert
    expect(properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 14, Status: 'Enabled' }] },
    });
    expect(resourceOf(pipeline.template, pipeline.failureBucket.bucket).DeletionPolicy).toBe('Retain');
  });

  it('refuses requests without TLS', () => {
    // Assert
    pipeline.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: refOf(pipeline.failureBucket.bucket),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('consumer queue mappings', () => {
  it.each(consumers)(
    '%s reads its queue in its batch size and reports batch item failures',
    (_name, declaration) => {
      // Arrange
      const { queue, function: fn } = pipeline.consumer(declaration);

      // Assert
      pipeline.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arnOf(queue),
        FunctionName: refOf(fn),
        BatchSize: declaration.batchSize ?? 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig:
          declaration.maxConcurrency === undefined
            ? Match.absent()
            : { MaximumConcurrency: declaration.maxConcurrency },
      });
    },
  );
});

describe('queues', () => {
  it.each(consumers)(
    '%s dead-letters after 5 receives; an ordered consumer on high-throughput FIFO queues',
    (_name, declaration) => {
      // Arrange
      const { queue, deadLetterQueue } = pipeline.consumer(declaration);
      const fifo = declaration.kind === 'ordered';

      // Act
      const queueProperties = propertiesOf(pipeline.template, queue);
      const deadLetterProperties = propertiesOf(pipeline.template, deadLetterQueue);

      // Assert
      expect(queueProperties.RedrivePolicy).toEqual({
        deadLetterTargetArn: arnOf(deadLetterQueue),
        maxReceiveCount: 5,
      });
      for (const properties of [queueProperties, deadLetterProperties]) {
        expect(properties.FifoQueue).toBe(fifo ? true : undefined);
        expect(properties.FifoThroughputLimit).toBe(fifo ? 'perMessageGroupId' : undefined);
        expect(properties.DeduplicationScope).toBe(fifo ? 'messageGroup' : undefined);
      }
    },
  );

  it.each(consumers)(
    'the dead-letter queue of %s admits only its source queue as a redrive source',
    (_name, declaration) => {
      // Arrange
      const { queue, deadLetterQueue } = pipeline.consumer(declaration);
      const queueName = defined(
        propertiesOf(pipeline.template, queue).QueueName,
        `a name on ${queue.node.path}`,
      );

      // Act
      const policy = propertiesOf(pipeline.template, deadLetterQueue).RedriveAllowPolicy;

      // Assert
      expect(policy).toEqual({
        redrivePermission: 'byQueue',
        sourceQueueArns: [
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':sqs:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                `:${queueName}`,
              ],
            ],
          },
        ],
      });
    },
  );

  it.each(consumers)(
    'the queue of %s hides a received message for six times the function timeout',
    (_name, declaration) => {
      // Act
      const { queue } = pipeline.consumer(declaration);

      // Assert
      expect(propertiesOf(pipeline.template, queue).VisibilityTimeout).toBe(6 * 30);
    },
  );

  it('every queue is encrypted at rest with SSE-SQS', () => {
    // Act
    const queues = resourcesOfType(pipeline.template, 'AWS::SQS::Queue');

    // Assert
    expect(queues.length).toBeGreaterThan(0);
    for (const queue of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('every queue denies requests that do not use TLS', () => {
    // Arrange
    const queueIds = Object.entries(pipeline.template.findResources('AWS::SQS::Queue')).map(([id]) => id);

    // Act
    const denied = resourcesOfType(pipeline.template, 'AWS::SQS::QueuePolicy')
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
    // Arrange
    const queues = [
      ...registeredConsumers().flatMap((declaration) => {
        const consumer = pipeline.consumer(declaration);
        return 'targetDeadLetterQueue' in consumer
          ? [consumer.deadLetterQueue, consumer.targetDeadLetterQueue]
          : [consumer.deadLetterQueue];
      }),
      pipeline.relay.failureQueue,
    ];

    // Act
    const retention = queues.map((queue) => propertiesOf(pipeline.template, queue).MessageRetentionPeriod);

    // Assert
    expect(retention).toEqual(queues.map(() => 14 * 24 * 60 * 60));
  });
});

describe('tables', () => {
  it('the outbox table streams new images, bills on demand, expires items on expiresAt and has no index', () => {
    // Act
    const properties = propertiesOf(pipeline.template, pipeline.table);

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
    expect(properties.GlobalSecondaryIndexes).toBeUndefined();
    expect(properties.LocalSecondaryIndexes).toBeUndefined();
  });

  it('the idempotency table has the Powertools default schema and expires records on expiration', () => {
    // Act
    const properties = propertiesOf(pipeline.template, pipeline.idempotencyTable);

    // Assert
    expect(properties).toMatchObject({
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('every table has point-in-time recovery and KMS encryption and is retained by default', () => {
    // Act
    const tables = resourcesOfType(pipeline.template, 'AWS::DynamoDB::Table');

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
    pipeline.template.allResourcesProperties('AWS::Lambda::Function', {
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
    // Arrange
    const functions = resourcesOfType(pipeline.template, 'AWS::Lambda::Function');

    // Act
    const logGroups = functions.map(
      (fn) => (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref,
    );
    const retention = logGroups.map(
      (id) => defined(pipeline.template.toJSON().Resources[id], `log group ${id}`).Properties.RetentionInDays,
    );

    // Assert
    expect(new Set(logGroups).size).toBe(functions.length);
    expect(retention).toEqual(functions.map(() => 30));
  });

  it('function roles carry no AWS managed policy', () => {
    // Assert
    pipeline.template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('relay and sweeper environment', () => {
  it('the relay learns the table, the bus, its failure queue and every ordered queue', () => {
    // Act
    const environment = environmentOf(pipeline.template, pipeline.relay.function);

    // Assert
    const orderedQueueRefs = orderedConsumers().flatMap((consumer, index) => [
      index === 0 ? '["' : '","',
      refOf(consumer.queue),
    ]);
    expect(orderedQueueRefs.length).toBeGreaterThan(0);
    expect(environment).toMatchObject({
      [ENV.tableName]: refOf(pipeline.table),
      [ENV.eventBusName]: refOf(pipeline.eventBus),
      [ENV.relayFailureQueueUrl]: refOf(pipeline.relay.failureQueue),
      [ENV.orderedQueueUrls]: { 'Fn::Join': ['', [...orderedQueueRefs, '"]']] },
      POWERTOOLS_SERVICE_NAME: SERVICES.relay,
    });
  });

  it('the sweeper gets the relay environment, the failure bucket and its interval', () => {
    // Act
    const relayEnvironment = environmentOf(pipeline.template, pipeline.relay.function);
    const sweeperEnvironment = environmentOf(pipeline.template, pipeline.sweeper.function);

    // Assert
    for (const name of [ENV.tableName, ENV.eventBusName, ENV.relayFailureQueueUrl, ENV.orderedQueueUrls]) {
      expect(sweeperEnvironment[name]).toEqual(relayEnvironment[name]);
    }
    expect(sweeperEnvironment).toMatchObject({
      [ENV.failureBucketName]: refOf(pipeline.failureBucket.bucket),
      [ENV.sweepIntervalSeconds]: '300',
      POWERTOOLS_SERVICE_NAME: SERVICES.sweeper,
    });
  });
});

describe('sweeper schedule', () => {
  it('runs every 5 minutes, and neither the rule nor Lambda retries a failed run', () => {
    // Assert
    pipeline.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({ Arn: arnOf(pipeline.sweeper.function), RetryPolicy: { MaximumRetryAttempts: 0 } }),
      ],
    });
    pipeline.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: refOf(pipeline.sweeper.function),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
    });
  });
});

describe('unordered consumer rules', () => {
  it.each(unordered)('%s matches the stack source and its event types', (_name, declaration) => {
    // Arrange
    const { rule } = pipeline.unordered(declaration);
    const detailType =
      declaration.eventTypes ??
      (declaration.detailTypePrefix === undefined ? undefined : [{ prefix: declaration.detailTypePrefix }]);

    // Act
    const pattern = propertiesOf(pipeline.template, rule).EventPattern;

    // Assert
    expect(pattern).toEqual({
      source: ['com.example.orders'],
      ...(detailType === undefined ? {} : { 'detail-type': detailType }),
    });
  });

  it.each(unordered)(
    '%s delivers to its queue and dead-letters what EventBridge cannot deliver',
    (_name, declaration) => {
      // Arrange
      const consumer = pipeline.unordered(declaration);

      // Act
      const targets = propertiesOf(pipeline.template, consumer.rule).Targets;

      // Assert
      expect(targets).toEqual([
        expect.objectContaining({
          Arn: arnOf(consumer.queue),
          DeadLetterConfig: { Arn: arnOf(consumer.targetDeadLetterQueue) },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ]);
    },
  );
});

describe('consumer environment', () => {
  it.each(consumers)('%s gets its name, kind, tables, memory and dead-letter queue', (name, declaration) => {
    // Arrange
    const { function: fn, deadLetterQueue } = pipeline.consumer(declaration);

    // Act
    const environment = environmentOf(pipeline.template, fn);

    // Assert
    expect(environment).toMatchObject({
      [ENV.consumerName]: name,
      [ENV.consumerKind]: declaration.kind,
      [ENV.consumerStartPosition]: declaration.kind === 'ordered' ? declaration.startPosition : 'first-seen',
      [ENV.tableName]: refOf(pipeline.table),
      [ENV.idempotencyTableName]: refOf(pipeline.idempotencyTable),
      [ENV.consumerMemorySeconds]: String(14 * 24 * 60 * 60),
      [ENV.deadLetterQueueUrl]: refOf(deadLetterQueue),
      POWERTOOLS_SERVICE_NAME: name,
    });
  });
});

describe('producer', () => {
  it('is reachable only through an IAM-authenticated function URL', () => {
    // Assert
    pipeline.template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      TargetFunctionArn: arnOf(pipeline.orderApi.function),
    });
  });

  it('gets the table, the event source and the outbox retention through its environment', () => {
    // Act
    const environment = environmentOf(pipeline.template, pipeline.orderApi.function);

    // Assert
    expect(environment).toMatchObject({
      [ENV.tableName]: refOf(pipeline.table),
      [ENV.eventSource]: 'com.example.orders',
      [ENV.outboxRetentionDays]: '7',
      POWERTOOLS_SERVICE_NAME: SERVICES.ordersApi,
    });
  });
});

describe('event archive', () => {
  it('archives the events of the stack source for 14 days, with no KmsKeyIdentifier (aws-cdk#37847)', () => {
    // Act
    const archives = resourcesOfType(pipeline.template, 'AWS::Events::Archive');

    // Assert
    expect(archives.map((archive) => archive.Properties)).toEqual([
      {
        Description: 'Events from com.example.orders',
        EventPattern: { source: ['com.example.orders'] },
        RetentionDays: 14,
        SourceArn: arnOf(pipeline.eventBus),
      },
    ]);
  });
});

describe('outputs', () => {
  function expectedOutputKeys(declaration: ConsumerDeclaration): string[] {
    const outputs = Object.keys(CONSUMER_OUTPUTS) as Array<keyof typeof CONSUMER_OUTPUTS>;
    return outputs
      .filter((output) => declaration.kind === 'unordered' || output !== 'targetDeadLetterQueueUrl')
      .map((output) => consumerOutputKey(declaration.name, output));
  }

  it('outputs every name and URL the tools need, and each consumer its queues and function', () => {
    // Act
    const outputs = Object.keys(pipeline.template.toJSON().Outputs);

    // Assert
    expect(outputs.sort()).toEqual(
      [...Object.values(STACK_OUTPUTS), ...registeredConsumers().flatMap(expectedOutputKeys)].sort(),
    );
  });

  it.each([
    [STACK_OUTPUTS.tableName, () => refOf(pipeline.table)],
    [STACK_OUTPUTS.failureBucketName, () => refOf(pipeline.failureBucket.bucket)],
    [STACK_OUTPUTS.relayFailureQueueUrl, () => refOf(pipeline.relay.failureQueue)],
    [STACK_OUTPUTS.sweeperFunctionName, () => refOf(pipeline.sweeper.function)],
    [STACK_OUTPUTS.alarmTopicArn, () => refOf(pipeline.observability.alarmTopic)],
  ])('output %s names the right resource', (key, expected) => {
    // Act
    const output = defined(pipeline.template.toJSON().Outputs[key], `output ${key}`);

    // Assert
    expect(output.Value).toEqual(expected());
  });
});

describe('cdk-nag', () => {
  it('passes AwsSolutions checks with no unacknowledged errors or warnings', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(pipeline.stack);
    const findings = report.violations.map(
      (violation) =>
        `${violation.severity} ${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );

    // Assert
    expect(findings).toEqual([]);
  });
});
