import { App, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OutboxPipelineStack } from '../lib/outbox-pipeline-stack';

const app = new App();

// Optional overrides: `cdk synth -c removalPolicy=destroy -c outboxRetentionDays=3 -c eventSource=com.example.shop`.
const removalPolicy = app.node.tryGetContext('removalPolicy');
const outboxRetentionDays = app.node.tryGetContext('outboxRetentionDays');
const eventSource = app.node.tryGetContext('eventSource');

new OutboxPipelineStack(app, 'OutboxPipeline', {
  description: 'Serverless transactional outbox: DynamoDB stream relay to EventBridge and FIFO SQS consumers',
  removalPolicy: parseRemovalPolicy(removalPolicy),
  outboxRetention: outboxRetentionDays === undefined ? undefined : Duration.days(Number(outboxRetentionDays)),
  eventSource: eventSource === undefined ? undefined : String(eventSource),
});

// cdk-nag 3 runs as a policy validation plugin: any unacknowledged finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

function parseRemovalPolicy(value: unknown): RemovalPolicy | undefined {
  switch (value) {
    case undefined:
      return undefined;
    case 'retain':
      return RemovalPolicy.RETAIN;
    case 'destroy':
      return RemovalPolicy.DESTROY;
    default:
      throw new Error(`context removalPolicy must be 'retain' or 'destroy' (given ${JSON.stringify(value)})`);
  }
}
