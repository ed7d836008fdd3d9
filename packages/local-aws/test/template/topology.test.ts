/**
 * readTopology: one reader per CloudFormation type, on hand-written templates shaped like
 * what `cdk synth` writes.
 */
import { describe, expect, it } from 'vitest';
import { TemplateResolutionError } from '../../src/template/intrinsics';
import { rateToMs, readTopology } from '../../src/template/topology';

const ASSEMBLY = '/tmp/cdk.out';

function templateOf(resources: Record<string, unknown>, outputs: Record<string, unknown> = {}) {
  return { Resources: resources, Outputs: outputs } as Parameters<typeof readTopology>[0];
}

describe('readTopology', () => {
  it('reads a table with its key schema, indexes, stream view type and enabled TTL attribute', () => {
    // Arrange
    const template = templateOf({
      Orders: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          GlobalSecondaryIndexes: [
            { IndexName: 'byType', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], Projection: {} },
          ],
          StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        },
      },
    });

    // Act
    const { tables } = readTopology(template, ASSEMBLY);

    // Assert
    expect(tables).toEqual([
      {
        logicalId: 'Orders',
        keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        attributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        globalSecondaryIndexes: [
          { IndexName: 'byType', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], Projection: {} },
        ],
        streamViewType: 'NEW_IMAGE',
        ttlAttribute: 'expiresAt',
      },
    ]);
  });

  it('reads a FIFO queue with its attributes and the dead-letter queue of its redrive policy', () => {
    // Arrange
    const template = templateOf({
      Dlq: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
      Work: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          FifoQueue: true,
          ContentBasedDeduplication: true,
          VisibilityTimeout: 180,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 5 },
        },
      },
    });

    // Act
    const work = readTopology(template, ASSEMBLY).queues.find((queue) => queue.logicalId === 'Work');

    // Assert
    expect(work).toEqual({
      logicalId: 'Work',
      fifo: true,
      attributes: { ContentBasedDeduplication: 'true', VisibilityTimeout: '180' },
      deadLetterQueueLogicalId: 'Dlq',
      maxReceiveCount: 5,
    });
  });

  it('reads a pattern rule on a bus of the stack with its SQS targets, retry policies and DLQs', () => {
    // Arrange
    const template = templateOf({
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders' } },
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
      Rule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventBusName: { Ref: 'Bus' },
          EventPattern: { source: ['orders'] },
          Targets: [
            {
              Id: 'Target0',
              Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
              RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 600 },
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['Dlq', 'Arn'] } },
              SqsParameters: { MessageGroupId: 'g' },
            },
            { Id: 'Target1', Arn: 'arn:aws:sns:us-east-1:123456789012:not-a-queue' },
          ],
        },
      },
    });

    // Act
    const topology = readTopology(template, ASSEMBLY);

    // Assert
    expect(topology.eventBuses).toEqual([{ logicalId: 'Bus', name: 'orders' }]);
    expect(topology.rules).toEqual([
      {
        logicalId: 'Rule',
        eventBusLogicalId: 'Bus',
        eventPattern: { source: ['orders'] },
        targets: [
          {
            id: 'Target0',
            queueLogicalId: 'Queue',
            deadLetterQueueLogicalId: 'Dlq',
            maximumRetryAttempts: 4,
            maximumEventAgeInSeconds: 600,
            messageGroupId: 'g',
          },
        ],
      },
    ]);
  });

  it('reads a rate schedule that invokes a function as a schedule, not as a pattern rule', () => {
    // Arrange
    const template = templateOf({
      Sweeper: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs24.x' } },
      Every5: {
        Type: 'AWS::Events::Rule',
        Properties: {
          ScheduleExpression: 'rate(5 minutes)',
          Targets: [{ Id: 'T', Arn: { 'Fn::GetAtt': ['Sweeper', 'Arn'] } }],
        },
      },
    });

    // Act
    const topology = readTopology(template, ASSEMBLY);

    // Assert
    expect(topology.schedules).toEqual([
      {
        logicalId: 'Every5',
        functionLogicalId: 'Sweeper',
        intervalMs: 300_000,
        expression: 'rate(5 minutes)',
      },
    ]);
    expect(topology.rules).toEqual([]);
  });

  it('reads a Node.js function with a local asset and skips one without an asset', () => {
    // Arrange
    const template = templateOf({
      Api: {
        Type: 'AWS::Lambda::Function',
        Metadata: { 'aws:asset:path': 'asset.abc' },
        Properties: {
          Runtime: 'nodejs24.x',
          Handler: 'index.handler',
          Timeout: 10,
          MemorySize: 256,
          Environment: { Variables: { TABLE: { Ref: 'Orders' } } },
        },
      },
      Provider: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs24.x' } },
    });

    // Act
    const { functions } = readTopology(template, ASSEMBLY);

    // Assert
    expect(functions).toEqual([
      {
        logicalId: 'Api',
        modulePath: '/tmp/cdk.out/asset.abc/index.mjs',
        exportName: 'handler',
        runtime: 'nodejs24.x',
        environment: { TABLE: { Ref: 'Orders' } },
        timeoutSeconds: 10,
        memorySize: 256,
      },
    ]);
  });

  it('reads an SQS event source mapping with its filters, partial batch responses and scaling', () => {
    // Arrange
    const template = templateOf({
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
          FunctionName: { Ref: 'Consumer' },
          BatchSize: 10,
          FilterCriteria: { Filters: [{ Pattern: '{"body":{"type":["a"]}}' }] },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ScalingConfig: { MaximumConcurrency: 5 },
        },
      },
    });

    // Act
    const [mapping] = readTopology(template, ASSEMBLY).mappings;

    // Assert
    expect(mapping).toMatchObject({
      logicalId: 'Mapping',
      functionLogicalId: 'Consumer',
      source: { kind: 'sqs', queueLogicalId: 'Queue' },
      batchSize: 10,
      filters: [{ Pattern: '{"body":{"type":["a"]}}' }],
      reportBatchItemFailures: true,
      maximumConcurrency: 5,
    });
  });

  it('reads a stream event source mapping with its retry limits and on-failure queue', () => {
    // Arrange
    const template = templateOf({
      Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Failures: { Type: 'AWS::SQS::Queue', Properties: {} },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['Table', 'StreamArn'] },
          FunctionName: { Ref: 'Relay' },
          StartingPosition: 'TRIM_HORIZON',
          BisectBatchOnFunctionError: true,
          MaximumRetryAttempts: 3,
          MaximumRecordAgeInSeconds: 3600,
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Failures', 'Arn'] } } },
        },
      },
    });

    // Act
    const [mapping] = readTopology(template, ASSEMBLY).mappings;

    // Assert
    expect(mapping).toMatchObject({
      source: { kind: 'dynamodb-stream', tableLogicalId: 'Table' },
      startingPosition: 'TRIM_HORIZON',
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 3,
      maximumRecordAgeInSeconds: 3600,
      onFailureQueueLogicalId: 'Failures',
    });
  });

  it('reads a bucket, and a stream mapping whose on-failure destination is that bucket', () => {
    // Arrange
    const template = templateOf({
      Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Discarded: { Type: 'AWS::S3::Bucket', Properties: { VersioningConfiguration: { Status: 'Enabled' } } },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['Table', 'StreamArn'] },
          FunctionName: { Ref: 'Relay' },
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Discarded', 'Arn'] } } },
        },
      },
    });

    // Act
    const topology = readTopology(template, ASSEMBLY);

    // Assert
    expect(topology.buckets).toEqual([{ logicalId: 'Discarded' }]);
    expect(topology.mappings[0]).toMatchObject({ onFailureBucketLogicalId: 'Discarded' });
    expect(topology.mappings[0]?.onFailureQueueLogicalId).toBeUndefined();
  });

  it('refuses an event source mapping whose source is not a resource of the stack', () => {
    // Arrange
    const template = templateOf({
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: 'arn:aws:sqs:us-east-1:123456789012:elsewhere',
          FunctionName: { Ref: 'F' },
        },
      },
    });

    // Act
    const reading = () => readTopology(template, ASSEMBLY);

    // Assert
    expect(reading).toThrow(TemplateResolutionError);
    expect(reading).toThrow(/Mapping: EventSourceArn and FunctionName must reference resources of the stack/);
  });

  it('reads function URLs, archives and outputs, and ignores types it does not run', () => {
    // Arrange
    const template = templateOf(
      {
        Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders' } },
        Url: {
          Type: 'AWS::Lambda::Url',
          Properties: { TargetFunctionArn: { 'Fn::GetAtt': ['Api', 'Arn'] } },
        },
        Archive: {
          Type: 'AWS::Events::Archive',
          Properties: { SourceArn: { 'Fn::GetAtt': ['Bus', 'Arn'] }, ArchiveName: 'all-orders' },
        },
        Logs: { Type: 'AWS::Logs::LogGroup', Properties: {} },
      },
      { ApiUrl: { Value: { 'Fn::GetAtt': ['Url', 'FunctionUrl'] } } },
    );

    // Act
    const topology = readTopology(template, ASSEMBLY);

    // Assert
    expect(topology.functionUrls).toEqual([{ logicalId: 'Url', functionLogicalId: 'Api' }]);
    expect(topology.archives).toEqual([
      { logicalId: 'Archive', name: 'all-orders', eventBusLogicalId: 'Bus', eventPattern: undefined },
    ]);
    expect(topology.outputs).toEqual({ ApiUrl: { 'Fn::GetAtt': ['Url', 'FunctionUrl'] } });
  });

  it('refuses an assembly folder that is not a non-empty string and says what was given', () => {
    // Act
    const reading = () => readTopology(templateOf({}), '');

    // Assert
    expect(reading).toThrow('assemblyDir must be the cloud assembly folder (given "")');
  });
});

describe('rateToMs', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(2 hours)', 7_200_000],
    ['rate(1 day)', 86_400_000],
    ['cron(0 12 * * ? *)', undefined],
  ])('reads %s as %s ms', (expression, expected) => {
    // Act
    const ms = rateToMs(expression);

    // Assert
    expect(ms).toBe(expected);
  });
});
