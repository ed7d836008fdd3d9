/**
 * startLocalAws with IAM on (the default), on the IAM fixture stack
 * (test/fixtures/stack/iam-template.ts): functions call the engines through the
 * enforcing proxies with their own role's credentials, mappings poll with them,
 * EventBridge deliveries and Function URLs are checked against resource policies.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../../src/runtime/local-aws';
import { iamFixtureStack } from '../fixtures/stack/iam-template';
import { sigV4Authorization } from '../fixtures/stack/template';
import { eventually } from '../support/eventually';

const ACCOUNT = '000000000000';
const ORDERS_ARN = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Orders`;
const session = (role: string, fn: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${fn}`;

interface ProbeResult {
  readonly ok: boolean;
  readonly name?: string;
  readonly message?: string;
  readonly queueUrl?: string;
}

let local: LocalAws | undefined;
let dynamodb: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let s3: S3Client | undefined;
const logs: string[] = [];

beforeAll(async () => {
  local = await startLocalAws(iamFixtureStack(), {
    functionConcurrency: 1,
    scheduleIntervalMs: 0,
    log: (message) => logs.push(message),
  });
  dynamodb = new DynamoDBClient({ ...local.clientConfig, endpoint: local.endpoints.dynamodb });
  sqs = new SQSClient({ ...local.clientConfig, endpoint: local.endpoints.sqs });
  s3 = new S3Client({ ...local.clientConfig, endpoint: local.endpoints.s3, forcePathStyle: true });
});

afterAll(async () => {
  dynamodb?.destroy();
  sqs?.destroy();
  s3?.destroy();
  await local?.stop();
});

function running(): { local: LocalAws; dynamodb: DynamoDBClient; sqs: SQSClient; s3: S3Client } {
  if (local === undefined || dynamodb === undefined || sqs === undefined || s3 === undefined)
    throw new Error('the local stack did not start');
  return { local, dynamodb, sqs, s3 };
}

async function probe(fn: string, command: string, input: unknown): Promise<ProbeResult> {
  const result = await running().local.functions.get(fn)?.invoke<ProbeResult>({ command, input });
  if (result === undefined) throw new Error(`no function ${fn}`);
  return result;
}

const put = (pk: string) => ({ TableName: '$TABLE', Item: { pk: { S: pk }, status: { S: 'NEW' } } });

function denialCount(principal: string, action: string): number {
  return (
    running()
      .local.iam.denials.summary()
      .find((d) => d.principal === principal && d.action === action)?.count ?? 0
  );
}

async function itemExists(pk: string): Promise<boolean> {
  const { Item } = await running().dynamodb.send(
    new GetItemCommand({ TableName: 'Orders', Key: { pk: { S: pk } } }),
  );
  return Item !== undefined;
}

async function queueUrl(logicalId: string): Promise<string> {
  const queue = running().local.queues.find((q) => q.logicalId === logicalId);
  if (queue === undefined) throw new Error(`no queue ${logicalId}`);
  return queue.url;
}

describe('startLocalAws with IAM: calls of functions', () => {
  it('refuses a call the role does not grant with AccessDeniedException naming the action and the ARN, and counts it', async () => {
    // Act
    const result = await probe('Denied', 'PutItem', put('denied-1'));

    // Assert
    expect(result).toEqual({
      ok: false,
      name: 'AccessDeniedException',
      message: `User: ${session('DeniedRole', 'Denied')} is not authorized to perform: dynamodb:PutItem on resource: ${ORDERS_ARN} because no identity-based policy allows the dynamodb:PutItem action`,
    });
    expect(denialCount(session('DeniedRole', 'Denied'), 'dynamodb:PutItem')).toBe(1);
    expect(await itemExists('denied-1')).toBe(false);
  });

  it('lets the same call through when the role grants it', async () => {
    // Act
    const result = await probe('Granted', 'PutItem', put('granted-1'));

    // Assert
    expect(result).toEqual({ ok: true });
    expect(await itemExists('granted-1')).toBe(true);
    expect(denialCount(session('GrantedRole', 'Granted'), 'dynamodb:PutItem')).toBe(0);
  });

  it('evaluates a Query on an index against the index ARN', async () => {
    // Arrange
    const input = {
      TableName: '$TABLE',
      IndexName: 'ByStatus',
      KeyConditionExpression: '#s = :s',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': { S: 'NEW' } },
    };

    // Act
    const granted = await probe('Granted', 'Query', input);
    const denied = await probe('Denied', 'Query', input);

    // Assert
    expect(granted).toEqual({ ok: true });
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain(`dynamodb:Query on resource: ${ORDERS_ARN}/index/ByStatus`);
  });
});

describe('startLocalAws with IAM: calls of functions to SQS, S3 and EventBridge', () => {
  it('answers SQS, S3 and EventBridge calls in their own AccessDenied shapes, and lets granted ones through', async () => {
    // Arrange
    const send = { QueueUrl: '$JOBS_URL', MessageBody: 'hello' };
    const object = { Bucket: '$BUCKET', Key: 'probe.txt', Body: 'x' };
    const entry = { Entries: [{ EventBusName: '$BUS', Source: 'probe', DetailType: 'Probe', Detail: '{}' }] };

    // Act
    const denied = [
      await probe('Denied', 'SendMessage', send),
      await probe('Denied', 'PutObject', object),
      await probe('Denied', 'PutEvents', entry),
    ];
    const granted = [await probe('Granted', 'PutObject', object), await probe('Granted', 'PutEvents', entry)];

    // Assert
    const who = session('DeniedRole', 'Denied');
    expect(denied).toEqual([
      expect.objectContaining({
        name: 'AccessDenied',
        message: expect.stringContaining(
          `${who} is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:${ACCOUNT}:Jobs`,
        ),
      }),
      expect.objectContaining({
        name: 'AccessDenied',
        message: expect.stringContaining('s3:PutObject on resource: "arn:aws:s3:::uploads/probe.txt"'),
      }),
      expect.objectContaining({
        name: 'AccessDeniedException',
        message: expect.stringContaining(
          `events:PutEvents on resource: arn:aws:events:us-east-1:${ACCOUNT}:event-bus/iam-bus`,
        ),
      }),
    ]);
    expect(granted).toEqual([{ ok: true }, { ok: true }]);
  });

  it('gives functions queue URLs that lead through the SQS proxy, also those GetQueueUrl returns', async () => {
    // Arrange
    const proxyPort = new URL(running().local.iam.endpoints.sqs).port;
    const before = denialCount(session('DeniedRole', 'Denied'), 'sqs:SendMessage');

    // Act
    const looked = await probe('Granted', 'GetQueueUrl', { QueueName: 'Jobs' });
    const sent = await probe('Granted', 'SendMessage', {
      QueueUrl: looked.queueUrl,
      MessageBody: 'via lookup',
    });
    const refused = await probe('Denied', 'SendMessage', { QueueUrl: looked.queueUrl, MessageBody: 'x' });

    // Assert
    expect(new URL(looked.queueUrl ?? 'http://none').port).toBe(proxyPort);
    expect(sent).toEqual({ ok: true });
    expect(refused.name).toBe('AccessDenied');
    expect(denialCount(session('DeniedRole', 'Denied'), 'sqs:SendMessage')).toBe(before + 1);
  });
});

describe('startLocalAws with IAM: dynamodb:LeadingKeys', () => {
  it('lets a role scoped to tenant-a# write its own keys and refuses another prefix', async () => {
    // Act
    const own = await probe('Tenant', 'PutItem', put('tenant-a#1'));
    const other = await probe('Tenant', 'PutItem', put('tenant-b#1'));

    // Assert
    expect(own).toEqual({ ok: true });
    expect(other).toEqual({
      ok: false,
      name: 'AccessDeniedException',
      message: `User: ${session('TenantRole', 'Tenant')} is not authorized to perform: dynamodb:PutItem on resource: ${ORDERS_ARN} because no identity-based policy allows the dynamodb:PutItem action`,
    });
    expect(await itemExists('tenant-b#1')).toBe(false);
  });

  it('refuses a TransactWriteItems with one item of another prefix as a whole, writing nothing', async () => {
    // Arrange
    const input = { TransactItems: [{ Put: put('tenant-a#2') }, { Put: put('tenant-b#2') }] };

    // Act
    const result = await probe('Tenant', 'TransactWriteItems', input);

    // Assert
    expect(result.name).toBe('AccessDeniedException');
    expect(result.message).toContain(`dynamodb:PutItem on resource: ${ORDERS_ARN}`);
    expect(await itemExists('tenant-a#2')).toBe(false);
    expect(await itemExists('tenant-b#2')).toBe(false);
  });
});

describe('startLocalAws with IAM: event source mappings poll with the function role', () => {
  it('delivers nothing from a queue the consumer may not receive from, and reports the denial once', async () => {
    // Arrange
    const { local: stack, sqs: operator } = running();
    const url = await queueUrl('Jobs');
    const mapping = stack.sqsMappings.find((m) => m.spec.functionLogicalId === 'Consumer')?.mapping;
    const consumer = session('ConsumerRole', 'Consumer');

    // Act
    await operator.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'job' }));
    await eventually('a second refused receive', () =>
      denialCount(consumer, 'sqs:ReceiveMessage') > 1 ? true : undefined,
    );

    // Assert
    expect(mapping?.counters.invocations).toBe(0);
    expect(mapping?.counters.accessDenied).toBeGreaterThan(1);
    expect(mapping?.lastProcessingResult).toContain(
      `PROBLEM: polling with the function's execution role was refused: User: ${consumer} is not authorized to perform: sqs:receivemessage on resource: arn:aws:sqs:us-east-1:${ACCOUNT}:Jobs`,
    );
    const reports = logs.filter(
      (line) => line.startsWith('[sqs mapping') && line.includes('sqs:receivemessage'),
    );
    expect(reports).toHaveLength(1);
    const { Attributes } = await operator.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(Attributes?.ApproximateNumberOfMessages).not.toBe('0');
  });

  it('refuses the on-failure write of a stream mapping whose role may not put objects in the bucket', async () => {
    // Arrange
    const { local: stack, s3: operator } = running();
    const mapping = stack.streamMappings.find((m) => m.spec.functionLogicalId === 'Relay')?.mapping;
    const relay = session('RelayRole', 'Relay');

    // Act: the earlier tests wrote items; the relay fails on every batch and discards it.
    await probe('Granted', 'PutItem', put('granted-stream'));
    await eventually('a refused failure-record write', () =>
      denialCount(relay, 's3:PutObject') > 0 ? true : undefined,
    );

    // Assert
    expect(mapping?.counters.invocations).toBeGreaterThan(0);
    expect(mapping?.lastProcessingResult).toMatch(
      /^PROBLEM: writing a failure record to the on-failure destination with the function's execution role was refused: S3 PutObject failed \(HTTP 403\): AccessDenied: User: arn:aws:sts::000000000000:assumed-role\/RelayRole\/Relay is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::uploads\/aws\/lambda\//,
    );
    const listed = await operator.send(
      new ListObjectsV2Command({ Bucket: 'uploads', Prefix: 'aws/lambda/' }),
    );
    expect(listed.Contents ?? []).toEqual([]);
  });
});

describe('startLocalAws with IAM: EventBridge deliveries to SQS', () => {
  it('refuses a delivery the queue policy does not allow for the rule as NO_PERMISSIONS, unretried, to the DLQ', async () => {
    // Arrange
    const { local: stack, sqs: operator } = running();
    const before = stack.eventBus.counters;

    // Act
    const put = await probe('Granted', 'PutEvents', {
      Entries: [{ EventBusName: '$BUS', Source: 'iam.test', DetailType: 'Test', Detail: '{"n":1}' }],
    });
    await stack.eventBus.waitForIdle(10_000);

    // Assert
    expect(put).toEqual({ ok: true });
    const after = stack.eventBus.counters;
    expect(after.refusedDeliveries - before.refusedDeliveries).toBe(1);
    expect(after.deliveryRetries).toBe(before.deliveryRetries);
    const receive = async (id: string) =>
      (
        await operator.send(
          new ReceiveMessageCommand({
            QueueUrl: await queueUrl(id),
            MessageAttributeNames: ['All'],
            MaxNumberOfMessages: 10,
          }),
        )
      ).Messages ?? [];
    expect(await receive('Inbox')).toEqual([]);
    const [dead, ...moreDead] = await receive('InboxDlq');
    expect(moreDead).toEqual([]);
    expect(dead?.MessageAttributes?.ERROR_CODE?.StringValue).toBe('NO_PERMISSIONS');
    expect(dead?.MessageAttributes?.RULE_ARN?.StringValue).toBe(
      `arn:aws:events:us-east-1:${ACCOUNT}:rule/iam-bus/ToInbox`,
    );
    expect(JSON.parse(dead?.Body ?? '{}')).toMatchObject({ source: 'iam.test', detail: { n: 1 } });
    expect((await receive('Allowed')).map((m) => JSON.parse(m.Body ?? '{}').detail)).toEqual([{ n: 1 }]);
    expect(denialCount('events.amazonaws.com', 'sqs:SendMessage')).toBe(1);
  });
});

describe('startLocalAws with IAM: Function URLs with AuthType AWS_IAM', () => {
  const call = (authorization?: string) =>
    fetch(running().local.outputs.DeniedUrl ?? '', {
      method: 'POST',
      headers: authorization === undefined ? {} : { authorization },
      body: '{}',
    });

  it('answers an unsigned request 403 Forbidden without invoking the function', async () => {
    // Act
    const response = await call();

    // Assert
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      Message:
        'Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html',
    });
  });

  it('lets the operator key and a caller allowed InvokeFunctionUrl and InvokeFunction through', async () => {
    // Arrange
    const granted = running().local.iam.credentialsOf('Granted')?.accessKeyId ?? 'missing';

    // Act
    const operator = await call(sigV4Authorization('local'));
    const caller = await call(sigV4Authorization(granted));

    // Assert
    expect([operator.status, caller.status]).toEqual([200, 200]);
    expect(await caller.json()).toEqual({ invoked: 'Denied' });
  });

  it('refuses a caller allowed lambda:InvokeFunctionUrl only (InvokeFunction is needed too since October 2025)', async () => {
    // Arrange
    const tenant = running().local.iam.credentialsOf('Tenant')?.accessKeyId ?? 'missing';

    // Act
    const response = await call(sigV4Authorization(tenant));

    // Assert
    expect(response.status).toBe(403);
    expect(denialCount(session('TenantRole', 'Tenant'), 'lambda:InvokeFunction')).toBe(1);
  });
});

describe('startLocalAws with IAM: schedules', () => {
  it('runs a schedule the function policy allows and refuses one without AWS::Lambda::Permission', async () => {
    // Act
    const [allowed, refused] = await Promise.allSettled([
      running().local.runSchedule('Granted'),
      running().local.runSchedule('Denied'),
    ]);

    // Assert
    expect(allowed).toEqual({ status: 'fulfilled', value: { scheduled: 'Granted' } });
    expect(refused.status === 'rejected' && String(refused.reason)).toMatch(
      /^Error: EventBridge may not invoke Denied for rule DeniedSchedule: User: events\.amazonaws\.com is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:Denied because no resource-based policy allows the lambda:InvokeFunction action$/,
    );
    expect(denialCount('events.amazonaws.com', 'lambda:InvokeFunction')).toBe(1);
  });
});

describe('startLocalAws with IAM: what the stack exposes', () => {
  it('says IAM is on, gives each function role-session keys, and keeps the operator key for the runtime', () => {
    // Act
    const { iam, clientConfig } = running().local;

    // Assert
    expect(iam.enabled).toBe(true);
    expect(iam.operatorCredentials).toEqual({ accessKeyId: 'local', secretAccessKey: 'local' });
    expect(clientConfig.credentials.accessKeyId).toBe('local');
    expect(iam.credentialsOf('Granted')?.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(iam.credentialsOf('Granted')?.accessKeyId).not.toBe(iam.credentialsOf('Denied')?.accessKeyId);
    expect(iam.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
  });
});
