/**
 * DynamoDB Local, the SQS emulator and the EventBridge emulator behind
 * enforcing proxies, called with the real SDK clients and the credentials a
 * function would get: the SDK must raise what it raises on AWS.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoDbLocal, LOCAL_CREDENTIALS, startDynamoDbLocal } from '../../src/engines/dynamodb-local';
import { type SqsEmulator, startSqsEmulator } from '../../src/engines/sqs-emulator';
import { type EventBusEmulator, startEventBusEmulator } from '../../src/eventbridge/event-bus-emulator';
import { createIamAuthorizer, type IamAuthorizer } from '../../src/iam/authorizer';
import { CredentialRegistry, type LocalCredentials } from '../../src/iam/credentials';
import { type IamProxy, startIamProxy } from '../../src/iam/proxy';
import { readTableKeys } from '../../src/iam/requests/table-keys';
import { type CfnTemplate, readTemplatePolicies } from '../../src/iam/template-policies';
import {
  ACCOUNT,
  loadPipelineTemplate,
  localResolver,
  queueArn,
  REGION,
  tableArn,
} from './fixtures/local-resources';

const OUTBOX = 'OutboxTable23220A39';
const IDEMPOTENCY = 'IdempotencyTableE9369C9C';
const BUS = 'OutboxPipelineEventBusD5796949';

/** The pipeline template plus a writer whose role may only write partition keys starting with ORDER#. */
function templateWithScopedWriter(): CfnTemplate {
  const template = loadPipelineTemplate();
  return {
    Resources: {
      ...template.Resources,
      ScopedWriterRole: { Type: 'AWS::IAM::Role', Properties: {} },
      ScopedWriterPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'ScopedWriterRole' }],
          PolicyDocument: {
            Statement: [
              {
                Effect: 'Allow',
                Action: 'dynamodb:PutItem',
                Resource: { 'Fn::GetAtt': [OUTBOX, 'Arn'] },
                Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ORDER#*'] } },
              },
            ],
          },
        },
      },
      ScopedWriter: {
        Type: 'AWS::Lambda::Function',
        Properties: { Role: { 'Fn::GetAtt': ['ScopedWriterRole', 'Arn'] } },
      },
    },
  };
}

let dynamo: DynamoDbLocal;
let sqsEngine: SqsEmulator;
let bus: EventBusEmulator;
let proxies: IamProxy[] = [];
let authorizer: IamAuthorizer;
let credentialsOf: (functionLogicalId: string) => LocalCredentials;
let admin: DynamoDBClient;
const failureQueue: { url: string } = { url: '' };
const clients: Array<{ destroy(): void }> = [];

function client<T extends { destroy(): void }>(make: () => T): T {
  const created = make();
  clients.push(created);
  return created;
}

beforeAll(async () => {
  [dynamo, sqsEngine] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  bus = await startEventBusEmulator({
    region: REGION,
    accountId: ACCOUNT,
    sqs: { endpoint: sqsEngine.endpoint },
  });
  bus.createEventBus(BUS);
  const config = { region: REGION, credentials: LOCAL_CREDENTIALS };
  admin = client(() => new DynamoDBClient({ ...config, endpoint: dynamo.endpoint }));
  const adminSqs = client(() => new SQSClient({ ...config, endpoint: sqsEngine.endpoint }));
  await Promise.all([
    admin.send(
      new CreateTableCommand({
        TableName: OUTBOX,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    ),
    admin.send(
      new CreateTableCommand({
        TableName: IDEMPOTENCY,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    ),
  ]);
  const created = await adminSqs.send(new CreateQueueCommand({ QueueName: 'RelayFailureQueue3FF99A00' }));
  failureQueue.url = created.QueueUrl ?? '';

  const template = templateWithScopedWriter();
  const policies = readTemplatePolicies(template, {
    resolve: localResolver(template),
    accountId: ACCOUNT,
    region: REGION,
  });
  const registry = new CredentialRegistry({ accountId: ACCOUNT });
  authorizer = createIamAuthorizer({ policies, credentials: registry, tableKeys: readTableKeys(template) });
  credentialsOf = (id) => {
    const role = policies.functionRoles.get(id);
    if (role === undefined) throw new Error(`no role for ${id}`);
    return registry.issueRoleSession(role, id);
  };
  proxies = await Promise.all([
    startIamProxy({ service: 'dynamodb', upstream: dynamo.endpoint, authorizer }),
    startIamProxy({ service: 'sqs', upstream: sqsEngine.endpoint, authorizer }),
    startIamProxy({ service: 'events', upstream: bus.endpoint, authorizer }),
  ]);
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(proxies.map((p) => p.stop()));
  await bus?.stop();
  await Promise.all([dynamo?.stop(), sqsEngine?.stop()]);
});

const endpointOf = (service: string) => proxies.find((p) => p.service === service)?.endpoint ?? '';
const asFunction = <T extends { destroy(): void }>(
  Client: new (config: {
    region: string;
    endpoint: string;
    credentials: LocalCredentials;
    maxAttempts: number;
  }) => T,
  service: string,
  functionLogicalId: string,
) =>
  client(
    () =>
      new Client({
        region: REGION,
        endpoint: endpointOf(service),
        credentials: credentialsOf(functionLogicalId),
        maxAttempts: 1,
      }),
  );

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to be refused, but it succeeded');
}

describe('the DynamoDB proxy', () => {
  it('passes a PutItem the role allows through to DynamoDB Local', async () => {
    // Arrange
    const api = asFunction(DynamoDBClient, 'dynamodb', 'OrderApiFunction7DE8FFB8');

    // Act
    await api.send(
      new PutItemCommand({ TableName: OUTBOX, Item: { pk: { S: 'ORDER#1' }, sk: { S: 'v1' } } }),
    );

    // Assert
    const stored = await admin.send(
      new GetItemCommand({ TableName: OUTBOX, Key: { pk: { S: 'ORDER#1' }, sk: { S: 'v1' } } }),
    );
    expect(stored.Item).toBeDefined();
  });

  it('refuses a PutItem outside the policy with the AccessDeniedException the SDK raises on AWS', async () => {
    // Arrange
    const api = asFunction(DynamoDBClient, 'dynamodb', 'OrderApiFunction7DE8FFB8');

    // Act
    const error = await rejection(
      api.send(new PutItemCommand({ TableName: IDEMPOTENCY, Item: { id: { S: 'refused' } } })),
    );

    // Assert
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/OrderApiFunctionRole393806BC/OrderApiFunction7DE8FFB8 is not authorized to perform: dynamodb:PutItem on resource: ${tableArn(IDEMPOTENCY)} because no identity-based policy allows the dynamodb:PutItem action`,
    );
    const stored = await admin.send(
      new GetItemCommand({ TableName: IDEMPOTENCY, Key: { id: { S: 'refused' } } }),
    );
    expect(stored.Item).toBeUndefined();
  });

  it('allows a LeadingKeys-scoped PutItem inside the allowed prefix and refuses one outside it', async () => {
    // Arrange
    const writer = asFunction(DynamoDBClient, 'dynamodb', 'ScopedWriter');

    // Act
    await writer.send(
      new PutItemCommand({ TableName: OUTBOX, Item: { pk: { S: 'ORDER#9' }, sk: { S: 'v1' } } }),
    );
    const error = await rejection(
      writer.send(new PutItemCommand({ TableName: OUTBOX, Item: { pk: { S: 'ADMIN#1' }, sk: { S: 'v1' } } })),
    );

    // Assert
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain(`dynamodb:PutItem on resource: ${tableArn(OUTBOX)}`);
    const stored = await admin.send(
      new GetItemCommand({ TableName: OUTBOX, Key: { pk: { S: 'ADMIN#1' }, sk: { S: 'v1' } } }),
    );
    expect(stored.Item).toBeUndefined();
  });

  it('refuses credentials nobody issued with UnrecognizedClientException', async () => {
    // Arrange
    const stranger = client(
      () =>
        new DynamoDBClient({
          region: REGION,
          endpoint: endpointOf('dynamodb'),
          credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' },
          maxAttempts: 1,
        }),
    );

    // Act
    const error = await rejection(
      stranger.send(new GetItemCommand({ TableName: OUTBOX, Key: { pk: { S: 'a' }, sk: { S: 'b' } } })),
    );

    // Assert
    expect(error.name).toBe('UnrecognizedClientException');
    expect(error.message).toBe('The security token included in the request is invalid.');
  });
});

describe('the SQS proxy', () => {
  it('passes a SendMessage the role allows through to the queue', async () => {
    // Arrange
    const relay = asFunction(SQSClient, 'sqs', 'RelayFunctionE902C34E');

    // Act
    const sent = await relay.send(
      new SendMessageCommand({ QueueUrl: failureQueue.url, MessageBody: 'failed entry' }),
    );

    // Assert
    expect(sent.MessageId).toBeDefined();
  });

  it('refuses a ReceiveMessage the role lacks with the AccessDenied error SQS returns', async () => {
    // Arrange
    const relay = asFunction(SQSClient, 'sqs', 'RelayFunctionE902C34E');

    // Act
    const error = await rejection(relay.send(new ReceiveMessageCommand({ QueueUrl: failureQueue.url })));

    // Assert
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/RelayFunctionRoleB0523DC7/RelayFunctionE902C34E is not authorized to perform: sqs:receivemessage on resource: ${queueArn('RelayFailureQueue3FF99A00')} because no identity-based policy allows the sqs:receivemessage action`,
    );
  });
});

describe('the EventBridge proxy', () => {
  it('passes PutEvents to the bus the relay may publish on', async () => {
    // Arrange
    const relay = asFunction(EventBridgeClient, 'events', 'RelayFunctionE902C34E');

    // Act
    const result = await relay.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: BUS, Source: 'outbox', DetailType: 'OrderPlaced', Detail: '{}' }],
      }),
    );

    // Assert
    expect(result.FailedEntryCount).toBe(0);
  });

  it('refuses PutEvents from a function without events:PutEvents with AccessDeniedException', async () => {
    // Arrange
    const api = asFunction(EventBridgeClient, 'events', 'OrderApiFunction7DE8FFB8');

    // Act
    const error = await rejection(
      api.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: BUS, Source: 'api', DetailType: 'X', Detail: '{}' }],
        }),
      ),
    );

    // Assert
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain(
      `not authorized to perform: events:PutEvents on resource: arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${BUS}`,
    );
  });
});

describe('the denial log', () => {
  it('counts a refused call under its principal and action', async () => {
    // Arrange
    const api = asFunction(DynamoDBClient, 'dynamodb', 'OrderApiFunction7DE8FFB8');
    const principal = `arn:aws:sts::${ACCOUNT}:assumed-role/OrderApiFunctionRole393806BC/OrderApiFunction7DE8FFB8`;

    // Act
    await rejection(
      api.send(new DeleteItemCommand({ TableName: OUTBOX, Key: { pk: { S: 'ORDER#1' }, sk: { S: 'v1' } } })),
    );

    // Assert
    expect(authorizer.denials.summary()).toContainEqual({
      principal,
      action: 'dynamodb:DeleteItem',
      count: 1,
    });
  });
});
