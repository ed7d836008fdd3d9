import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { registeredConsumers } from '../../contract/consumers';
import {
  CONSUMER_METRICS,
  METRICS_NAMESPACE,
  RELAY_METRICS,
  SERVICES,
  SWEEPER_METRICS,
} from '../../contract/metrics';
import { PROJECT_ROOT } from '../../contract/project';
import { RUNBOOK } from '../../lib/constructs/pipeline-observability';
import { orderedDeclarations, type Pipeline, synthPipeline } from './pipeline-fixture';
import { arnOf, logicalId, refOf, resourceOf, resourcesOf, resourcesOfType } from './template-helpers';

let pipeline: Pipeline;

beforeAll(() => {
  // Arrange
  pipeline = synthPipeline();
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
  readonly AlarmDescription: string;
}

function alarms(): CfnAlarm[] {
  return resourcesOfType(pipeline.template, 'AWS::CloudWatch::Alarm').map(
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

/** `<namespace> <metric> <dimension value>`, the dimension by logical id when it references a resource. */
function describeAlarm(alarm: CfnAlarm): string {
  const dimension = alarm.Dimensions[0]?.Value;
  return `${alarm.Namespace} ${alarm.MetricName} ${referencedId(dimension) ?? String(dimension)}`;
}

/**
 * Every queue that is a place for failures: redrive targets of queues, dead-letter queues of
 * rule targets, and the relay's failure queue (which the relay and the sweeper send to).
 */
function failureQueueIds(): string[] {
  interface CfnFailurePaths {
    readonly RedrivePolicy?: { readonly deadLetterTargetArn?: unknown };
    readonly Targets?: ReadonlyArray<{ readonly DeadLetterConfig?: { readonly Arn?: unknown } }>;
  }
  const resources = resourcesOf(pipeline.template);
  const ids = new Set<string>([logicalId(pipeline.relay.failureQueue)]);
  for (const { Properties } of Object.values(resources)) {
    const paths = (Properties ?? {}) as CfnFailurePaths;
    const candidates = [
      paths.RedrivePolicy?.deadLetterTargetArn,
      ...(paths.Targets ?? []).map((target) => target.DeadLetterConfig?.Arn),
    ];
    for (const candidate of candidates) {
      const id = referencedId(candidate);
      if (id !== undefined && resources[id]?.Type === 'AWS::SQS::Queue') ids.add(id);
    }
  }
  return [...ids].sort();
}

describe('alarms', () => {
  it('are exactly the pipeline alarms, a parked alarm per ordered consumer, errors per function and depth per failure queue', () => {
    // Arrange
    const functionIds = Object.keys(pipeline.template.findResources('AWS::Lambda::Function'));
    const relay = logicalId(pipeline.relay.function);
    const expected = [
      `AWS/Lambda IteratorAge ${relay}`,
      `${METRICS_NAMESPACE} ${RELAY_METRICS.publishFailures} ${SERVICES.relay}`,
      `${METRICS_NAMESPACE} ${RELAY_METRICS.poisonEvents} ${SERVICES.relay}`,
      `${METRICS_NAMESPACE} ${SWEEPER_METRICS.relayProbeLag} ${SERVICES.sweeper}`,
      `${METRICS_NAMESPACE} ${SWEEPER_METRICS.oldestUnrecovered} ${SERVICES.sweeper}`,
      `${METRICS_NAMESPACE} ${SWEEPER_METRICS.recoveryFailures} ${SERVICES.sweeper}`,
      `${METRICS_NAMESPACE} ${SWEEPER_METRICS.lostWindows} ${SERVICES.sweeper}`,
      ...orderedDeclarations(registeredConsumers()).map(
        (consumer) => `${METRICS_NAMESPACE} ${CONSUMER_METRICS.parked} ${consumer.name}`,
      ),
      ...functionIds.map((id) => `AWS/Lambda Errors ${id}`),
      ...failureQueueIds().map((id) => `AWS/SQS ApproximateNumberOfMessagesVisible ${id}`),
    ];

    // Act
    const found = alarms().map(describeAlarm);

    // Assert
    expect(functionIds).toHaveLength(3 + registeredConsumers().length);
    expect(found.sort()).toEqual(expected.sort());
  });

  it.each([
    [
      'relay iterator age above 5 minutes for 3 minutes',
      'AWS/Lambda',
      'IteratorAge',
      { Statistic: 'Maximum', Period: 60, Threshold: 300_000, EvaluationPeriods: 3, DatapointsToAlarm: 3 },
      'notBreaching',
    ],
    [
      'relay lag above 15 minutes in 2 sweeps, or the sweeper silent',
      METRICS_NAMESPACE,
      SWEEPER_METRICS.relayProbeLag,
      { Statistic: 'Maximum', Period: 300, Threshold: 900, EvaluationPeriods: 2, DatapointsToAlarm: 2 },
      'breaching',
    ],
    [
      'a discarded batch unrecovered for 15 minutes in 2 sweeps',
      METRICS_NAMESPACE,
      SWEEPER_METRICS.oldestUnrecovered,
      { Statistic: 'Maximum', Period: 300, Threshold: 900, EvaluationPeriods: 2, DatapointsToAlarm: 2 },
      'notBreaching',
    ],
    [
      'recovery failures in 3 sweeps in a row',
      METRICS_NAMESPACE,
      SWEEPER_METRICS.recoveryFailures,
      { Statistic: 'Sum', Period: 300, Threshold: 0, EvaluationPeriods: 3, DatapointsToAlarm: 3 },
      'notBreaching',
    ],
    [
      'publish failures in 2 of 3 five-minute periods',
      METRICS_NAMESPACE,
      RELAY_METRICS.publishFailures,
      { Statistic: 'Sum', Period: 300, Threshold: 0, EvaluationPeriods: 3, DatapointsToAlarm: 2 },
      'notBreaching',
    ],
    [
      'the first poison event',
      METRICS_NAMESPACE,
      RELAY_METRICS.poisonEvents,
      { Statistic: 'Sum', Period: 300, Threshold: 0, EvaluationPeriods: 1 },
      'notBreaching',
    ],
    [
      'events parked for 3 periods in a row',
      METRICS_NAMESPACE,
      CONSUMER_METRICS.parked,
      { Statistic: 'Sum', Period: 300, Threshold: 0, EvaluationPeriods: 3, DatapointsToAlarm: 3 },
      'notBreaching',
    ],
  ])('alarm on %s', (_what, namespace, metricName, settings, treatMissingData) => {
    // Act
    const found = alarmsOn(namespace, metricName);

    // Assert
    expect(found.length).toBeGreaterThan(0);
    for (const alarm of found) {
      expect(alarm).toMatchObject({
        ...settings,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: treatMissingData,
      });
    }
  });

  it('alarm on errors of any function, summed over 5 minutes', () => {
    // Act
    const found = alarmsOn('AWS/Lambda', 'Errors');

    // Assert
    expect(found.length).toBeGreaterThan(0);
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

  it('alarm as soon as a dead-letter or failure queue holds a message', () => {
    // Act
    const found = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible');

    // Assert
    expect(found.length).toBeGreaterThan(0);
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

  it('every alarm notifies the alarm topic when it fires and when it recovers, and names its runbook section', () => {
    // Arrange
    const topic = refOf(pipeline.observability.alarmTopic);

    // Act
    const found = alarms();

    // Assert
    expect(found.length).toBeGreaterThan(0);
    for (const alarm of found) {
      expect(alarm.AlarmActions).toEqual([topic]);
      expect(alarm.OKActions).toEqual([topic]);
      expect(alarm.AlarmDescription).toMatch(new RegExp(`Runbook: ${RUNBOOK}#[a-z-]+$`));
    }
  });
});

describe('runbooks', () => {
  it('exist for every alarm: each description names a section of docs/operations.md that is there', () => {
    // Arrange: GitHub's anchors of the document's headings
    const headings = readFileSync(join(PROJECT_ROOT, RUNBOOK), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('#'))
      .map((line) =>
        line
          .replace(/^#+\s*/, '')
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replaceAll(' ', '-'),
      );

    // Act
    const named = [
      ...new Set(alarms().map((alarm) => /#([a-z-]+)$/.exec(alarm.AlarmDescription)?.[1] ?? '')),
    ];

    // Assert
    expect(named.length).toBeGreaterThanOrEqual(10);
    expect(named.filter((anchor) => !headings.includes(anchor))).toEqual([]);
  });
});

describe('alarm topic', () => {
  it('is encrypted with a rotating key, retained by default, that only CloudWatch alarms of the account may use', () => {
    // Arrange
    const key = pipeline.observability.node.findChild('AlarmTopicKey');

    // Assert
    pipeline.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(key) });
    expect(resourceOf(pipeline.template, key).DeletionPolicy).toBe('Retain');
    pipeline.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          }),
        ]),
      },
    });
  });

  it('refuses requests without TLS and lets CloudWatch alarms of the account publish', () => {
    // Assert
    pipeline.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });
});

describe('dashboard', () => {
  it('charts the relay, the sweeper, every consumer, the failure queues and errors', () => {
    // Act
    const [dashboard] = resourcesOfType(pipeline.template, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);

    // Assert
    for (const expected of [
      RELAY_METRICS.eventsPublished,
      RELAY_METRICS.publishLag,
      RELAY_METRICS.publishFailures,
      RELAY_METRICS.poisonEvents,
      RELAY_METRICS.entriesRetried,
      'IteratorAge',
      SWEEPER_METRICS.relayProbeLag,
      SWEEPER_METRICS.oldestUnrecovered,
      SWEEPER_METRICS.recordsRecovered,
      SWEEPER_METRICS.recoveryFailures,
      SWEEPER_METRICS.recoveryGivenUp,
      CONSUMER_METRICS.processed,
      CONSUMER_METRICS.duplicates,
      CONSUMER_METRICS.deadLettered,
      CONSUMER_METRICS.parked,
      CONSUMER_METRICS.resumed,
      CONSUMER_METRICS.endToEndLatency,
      'ApproximateNumberOfMessagesVisible',
      'Errors',
      ...registeredConsumers().map((consumer) => consumer.name),
    ]) {
      expect(body).toContain(expected);
    }
  });
});
