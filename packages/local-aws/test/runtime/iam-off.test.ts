/**
 * startLocalAws on the IAM fixture stack with `iam: false` (everything goes through,
 * as before IAM was enforced), and start-up with a policy IAM cannot read faithfully.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IamTemplateError } from '../../src/iam';
import { type LocalAws, startLocalAws } from '../../src/runtime/local-aws';
import { iamFixtureStack } from '../fixtures/stack/iam-template';
import { eventually } from '../support/eventually';

interface ProbeResult {
  readonly ok: boolean;
  readonly name?: string;
}

let local: LocalAws | undefined;
let sqs: SQSClient | undefined;
let s3: S3Client | undefined;
const consumed: string[] = [];

beforeAll(async () => {
  local = await startLocalAws(iamFixtureStack(), {
    iam: false,
    functionConcurrency: 1,
    scheduleIntervalMs: 0,
    observe: ({ mapping, event, error }) => {
      if (mapping.functionLogicalId !== 'Consumer' || error !== undefined) return;
      for (const record of (event as { Records: Array<{ body: string }> }).Records)
        consumed.push(record.body);
    },
  });
  sqs = new SQSClient({ ...local.clientConfig, endpoint: local.endpoints.sqs });
  s3 = new S3Client({ ...local.clientConfig, endpoint: local.endpoints.s3, forcePathStyle: true });
});

afterAll(async () => {
  sqs?.destroy();
  s3?.destroy();
  await local?.stop();
});

function running(): { local: LocalAws; sqs: SQSClient; s3: S3Client } {
  if (local === undefined || sqs === undefined || s3 === undefined)
    throw new Error('the local stack did not start');
  return { local, sqs, s3 };
}

const urlOf = (logicalId: string) => running().local.queues.find((q) => q.logicalId === logicalId)?.url ?? '';

describe('startLocalAws with iam: false: calls of functions', () => {
  it('lets a function make calls its role does not grant, and counts no denial', async () => {
    // Arrange
    const denied = running().local.functions.get('Denied');

    // Act
    const put = await denied?.invoke<ProbeResult>({
      command: 'PutItem',
      input: { TableName: '$TABLE', Item: { pk: { S: 'tenant-b#1' } } },
    });
    const send = await denied?.invoke<ProbeResult>({
      command: 'SendMessage',
      input: { QueueUrl: '$JOBS_URL', MessageBody: 'from Denied' },
    });

    // Assert
    expect([put, send]).toEqual([{ ok: true }, { ok: true }]);
    expect(running().local.iam.enabled).toBe(false);
    expect(running().local.iam.denials.total).toBe(0);
    expect(running().local.iam.credentialsOf('Denied')).toBeUndefined();
  });

  it('delivers from a queue to a consumer whose role grants nothing on it', async () => {
    // Arrange
    const mapping = running().local.sqsMappings.find((m) => m.spec.functionLogicalId === 'Consumer')?.mapping;

    // Act
    await running().sqs.send(new SendMessageCommand({ QueueUrl: urlOf('Jobs'), MessageBody: 'job' }));

    // Assert
    await eventually('delivery to Consumer', () => (consumed.includes('job') ? true : undefined));
    expect(mapping?.counters.accessDenied).toBe(0);
    expect(mapping?.lastProcessingResult).toBeUndefined();
  });
});

describe('startLocalAws with iam: false: mappings, deliveries, URLs and schedules', () => {
  it('delivers events to a queue whose policy does not allow the rule', async () => {
    // Arrange
    const granted = running().local.functions.get('Granted');

    // Act
    await granted?.invoke({
      command: 'PutEvents',
      input: { Entries: [{ EventBusName: '$BUS', Source: 'iam.test', DetailType: 'Test', Detail: '{}' }] },
    });
    await running().local.eventBus.waitForIdle(10_000);

    // Assert
    const { Messages = [] } = await running().sqs.send(
      new ReceiveMessageCommand({ QueueUrl: urlOf('Inbox') }),
    );
    expect(Messages).toHaveLength(1);
    expect(running().local.eventBus.counters.refusedDeliveries).toBe(0);
  });

  it('writes discarded stream batches to a bucket the relay role may not write', async () => {
    // Act: the first test wrote an item, which the always-failing relay discards.
    const listed = await eventually('a failure record in the bucket', async () => {
      const page = await running().s3.send(
        new ListObjectsV2Command({ Bucket: 'uploads', Prefix: 'aws/lambda/' }),
      );
      return (page.Contents ?? []).length > 0 ? page.Contents : undefined;
    });

    // Assert
    expect(listed.length).toBeGreaterThan(0);
  });

  it('serves an AWS_IAM Function URL to unsigned requests and runs a schedule without permission', async () => {
    // Act
    const response = await fetch(running().local.outputs.DeniedUrl ?? '', { method: 'POST', body: '{}' });
    const scheduled = await running().local.runSchedule('Denied');

    // Assert
    expect(response.status).toBe(200);
    expect(scheduled).toEqual({ scheduled: 'Denied' });
  });
});

describe('startLocalAws with a policy IAM cannot read faithfully', () => {
  it('fails start-up with an IamTemplateError naming the statement', async () => {
    // Arrange
    const stack = iamFixtureStack({
      Unreadable: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'Unreadable',
          Roles: [{ Ref: 'GrantedRole' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['Missing', 'Arn'] } },
            ],
          },
        },
      },
    });
    let started: LocalAws | undefined;

    // Act
    const failure = await startLocalAws(stack, { scheduleIntervalMs: 0 }).then(
      (local) => {
        started = local;
        return undefined;
      },
      (error: unknown) => error,
    );
    await started?.stop();

    // Assert
    expect(failure).toBeInstanceOf(IamTemplateError);
    expect((failure as IamTemplateError).issues).toEqual([
      expect.objectContaining({ severity: 'error', where: 'Unreadable#0.Resource[0]' }),
    ]);
    expect(String(failure)).toContain("the template's permissions cannot be emulated faithfully");
  });
});
