import { describe, expect, it } from 'vitest';
import { createIamAuthorizer } from '../../src/iam/authorizer';
import { CredentialRegistry } from '../../src/iam/credentials';
import { readTableKeys } from '../../src/iam/requests/table-keys';
import { type CfnTemplate, readTemplatePolicies } from '../../src/iam/template-policies';
import {
  ACCOUNT,
  loadPipelineTemplate,
  localResolver,
  queueArn,
  queueUrl,
  REGION,
  tableArn,
} from './fixtures/local-resources';

const FUNCTION_URL_TARGET = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:OrderApiFunction7DE8FFB8`;

function setUp(template: CfnTemplate = loadPipelineTemplate(), unmappedOperations?: 'deny' | 'allow') {
  const policies = readTemplatePolicies(template, {
    resolve: localResolver(template),
    accountId: ACCOUNT,
    region: REGION,
  });
  const credentials = new CredentialRegistry({ accountId: ACCOUNT });
  const authorizer = createIamAuthorizer({
    policies,
    credentials,
    tableKeys: readTableKeys(template),
    unmappedOperations,
  });
  const keyOf = (functionLogicalId: string) => {
    const role = policies.functionRoles.get(functionLogicalId);
    if (role === undefined) throw new Error(`no role for ${functionLogicalId}`);
    return credentials.issueRoleSession(role, functionLogicalId).accessKeyId;
  };
  return { authorizer, keyOf };
}

const signed = (accessKeyId: string, service: string) => ({
  authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
});
const dynamo = (accessKeyId: string | undefined, operation: string, body: unknown) => ({
  method: 'POST',
  url: '/',
  headers: {
    ...(accessKeyId === undefined ? {} : signed(accessKeyId, 'dynamodb')),
    'x-amz-target': `DynamoDB_20120810.${operation}`,
  },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const sqs = (accessKeyId: string, operation: string, body: unknown) => ({
  method: 'POST',
  url: '/',
  headers: { ...signed(accessKeyId, 'sqs'), 'x-amz-target': `AmazonSQS.${operation}` },
  body: JSON.stringify(body),
});
const outboxItem = { TableName: 'OutboxTable23220A39', Item: { pk: { S: 'ORDER#1' }, sk: { S: 'v1' } } };

describe('IamAuthorizer.authorizeHttpRequest', () => {
  it('allows a function an action its role grants', () => {
    // Arrange
    const { authorizer, keyOf } = setUp();

    // Act
    const outcome = authorizer.authorizeHttpRequest(
      'dynamodb',
      dynamo(keyOf('OrderApiFunction7DE8FFB8'), 'PutItem', outboxItem),
    );

    // Assert
    expect(outcome).toMatchObject({ allowed: true, operation: 'PutItem' });
  });

  it('refuses a function an action its role lacks, naming action and resource', () => {
    // Arrange
    const { authorizer, keyOf } = setUp();

    // Act
    const outcome = authorizer.authorizeHttpRequest(
      'dynamodb',
      dynamo(keyOf('OrderApiFunction7DE8FFB8'), 'DeleteItem', {
        TableName: 'OutboxTable23220A39',
        Key: outboxItem.Item,
      }),
    );

    // Assert
    expect(outcome.allowed).toBe(false);
    if (outcome.allowed) return;
    expect(outcome.response.status).toBe(400);
    expect(JSON.parse(outcome.response.body).Message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/OrderApiFunctionRole393806BC/OrderApiFunction7DE8FFB8 is not authorized to perform: dynamodb:DeleteItem on resource: ${tableArn('OutboxTable23220A39')} because no identity-based policy allows the dynamodb:DeleteItem action`,
    );
  });

  it('refuses the whole transaction when one item is on a table the role cannot write', () => {
    // Arrange
    const { authorizer, keyOf } = setUp();

    // Act
    const outcome = authorizer.authorizeHttpRequest(
      'dynamodb',
      dynamo(keyOf('OrderApiFunction7DE8FFB8'), 'TransactWriteItems', {
        TransactItems: [
          { Put: outboxItem },
          { Put: { TableName: 'IdempotencyTableE9369C9C', Item: { id: { S: 'x' } } } },
        ],
      }),
    );

    // Assert
    expect(outcome).toMatchObject({
      allowed: false,
      denial: {
        action: 'dynamodb:PutItem',
        resource: tableArn('IdempotencyTableE9369C9C'),
        reason: 'implicit-deny',
      },
    });
  });

  it('refuses an access key nobody issued the way DynamoDB refuses an unknown key', () => {
    // Arrange
    const { authorizer } = setUp();

    // Act
    const outcome = authorizer.authorizeHttpRequest(
      'dynamodb',
      dynamo('AKIAIOSFODNN7EXAMPLE', 'PutItem', outboxItem),
    );

    // Assert
    expect(outcome.allowed).toBe(false);
    if (outcome.allowed) return;
    expect(JSON.parse(outcome.response.body).__type).toBe(
      'com.amazon.coral.service#UnrecognizedClientException',
    );
  });

  it('refuses an unsigned DynamoDB request as missing its authentication token', () => {
    // Arrange
    const { authorizer } = setUp();

    // Act
    const outcome = authorizer.authorizeHttpRequest('dynamodb', dynamo(undefined, 'PutItem', outboxItem));

    // Assert
    expect(outcome).toMatchObject({ allowed: false, denial: { reason: 'unsigned' } });
  });

  it('lets the operator key do anything without reading the request', () => {
    // Arrange
    const { authorizer } = setUp();

    // Act
    const outcome = authorizer.authorizeHttpRequest('dynamodb', dynamo('local', 'DeleteTable', 'not json'));

    // Assert
    expect(outcome).toEqual({ allowed: true, caller: { kind: 'administrator' } });
  });

  it('refuses an operation it cannot map, naming it, unless told to forward such calls', () => {
    // Arrange
    const strict = setUp();
    const lenient = setUp(loadPipelineTemplate(), 'allow');
    const request = (keyOf: (id: string) => string) =>
      dynamo(keyOf('OrderApiFunction7DE8FFB8'), 'RestoreTableFromBackup', { TargetTableName: 'x' });

    // Act
    const refused = strict.authorizer.authorizeHttpRequest('dynamodb', request(strict.keyOf));
    const forwarded = lenient.authorizer.authorizeHttpRequest('dynamodb', request(lenient.keyOf));

    // Assert
    expect(refused).toMatchObject({
      allowed: false,
      denial: { reason: 'unmapped-operation', operation: 'RestoreTableFromBackup' },
    });
    expect(forwarded).toMatchObject({ allowed: true, operation: 'RestoreTableFromBackup' });
  });

  it('answers a body it cannot read with a validation error instead of forwarding it', () => {
    // Arrange
    const { authorizer, keyOf } = setUp();

    // Act
    const outcome = authorizer.authorizeHttpRequest(
      'dynamodb',
      dynamo(keyOf('OrderApiFunction7DE8FFB8'), 'PutItem', '{"TableName":'),
    );

    // Assert
    expect(outcome.allowed).toBe(false);
    if (outcome.allowed) return;
    expect(JSON.parse(outcome.response.body)).toMatchObject({
      __type: 'com.amazon.coral.service#ValidationException',
    });
  });

  it('lets the relay send to its failure queue but not the projection consumer to its own queue', () => {
    // Arrange
    const { authorizer, keyOf } = setUp();

    // Act
    const relay = authorizer.authorizeHttpRequest(
      'sqs',
      sqs(keyOf('RelayFunctionE902C34E'), 'SendMessage', {
        QueueUrl: queueUrl('RelayFailureQueue3FF99A00'),
        MessageBody: 'x',
      }),
    );
    const consumer = authorizer.authorizeHttpRequest(
      'sqs',
      sqs(keyOf('OrderProjectionFunction6B7E8529'), 'SendMessageBatch', {
        QueueUrl: queueUrl('OrderProjectionQueue28F1DA30.fifo'),
        Entries: [],
      }),
    );

    // Assert
    expect(relay.allowed).toBe(true);
    expect(consumer).toMatchObject({
      allowed: false,
      denial: { action: 'sqs:SendMessage', resource: queueArn('OrderProjectionQueue28F1DA30.fifo') },
    });
  });

  it('counts denials per principal and action', () => {
    // Arrange
    const { authorizer, keyOf } = setUp();
    const key = keyOf('OrderApiFunction7DE8FFB8');
    const scan = dynamo(key, 'Scan', { TableName: 'OutboxTable23220A39' });

    // Act
    authorizer.authorizeHttpRequest('dynamodb', scan);
    authorizer.authorizeHttpRequest('dynamodb', scan);

    // Assert
    expect(authorizer.denials.summary()).toEqual([
      {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/OrderApiFunctionRole393806BC/OrderApiFunction7DE8FFB8`,
        action: 'dynamodb:Scan',
        count: 2,
      },
    ]);
  });
});

describe('IamAuthorizer.authorizeEventBridgeDelivery', () => {
  const rule = (name: string) =>
    `arn:aws:events:${REGION}:${ACCOUNT}:rule/OutboxPipelineEventBusD5796949/${name}`;

  it('allows the rule the queue policy names to deliver', () => {
    // Arrange
    const { authorizer } = setUp();

    // Act
    const outcome = authorizer.authorizeEventBridgeDelivery({
      ruleArn: rule('OrderActivityRuleE7DFA261'),
      queueArn: queueArn('OrderActivityQueue697916BB'),
    });

    // Assert
    expect(outcome).toEqual({ allowed: true });
  });

  it('refuses another rule, and a queue whose policy grants EventBridge nothing', () => {
    // Arrange
    const { authorizer } = setUp();

    // Act
    const otherRule = authorizer.authorizeEventBridgeDelivery({
      ruleArn: rule('SomeOtherRule'),
      queueArn: queueArn('OrderActivityQueue697916BB'),
    });
    const otherQueue = authorizer.authorizeEventBridgeDelivery({
      ruleArn: rule('OrderActivityRuleE7DFA261'),
      queueArn: queueArn('OrderProjectionQueue28F1DA30.fifo'),
    });

    // Assert
    expect(otherRule).toMatchObject({ allowed: false, decision: { reason: 'implicit-deny' } });
    expect(otherQueue).toMatchObject({
      allowed: false,
      message: expect.stringMatching(
        /^User: events\.amazonaws\.com is not authorized to perform: sqs:SendMessage/,
      ),
    });
    expect(authorizer.denials.total).toBe(2);
  });
});

describe('IamAuthorizer.authorizeFunctionUrlRequest', () => {
  function withCaller(actions: string[]): CfnTemplate {
    const template = loadPipelineTemplate();
    const resources = { ...template.Resources };
    resources.CallerRole = { Type: 'AWS::IAM::Role', Properties: {} };
    resources.CallerPolicy = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'CallerRole' }],
        PolicyDocument: { Statement: [{ Effect: 'Allow', Action: actions, Resource: FUNCTION_URL_TARGET }] },
      },
    };
    resources.Caller = {
      Type: 'AWS::Lambda::Function',
      Properties: { Role: { 'Fn::GetAtt': ['CallerRole', 'Arn'] } },
    };
    return { Resources: resources };
  }
  const call = (accessKeyId?: string) => ({
    functionArn: FUNCTION_URL_TARGET,
    url: '/orders',
    headers: accessKeyId === undefined ? {} : signed(accessKeyId, 'lambda'),
  });

  it('allows a caller whose role grants InvokeFunctionUrl and InvokeFunction', () => {
    // Arrange
    const { authorizer, keyOf } = setUp(withCaller(['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction']));

    // Act
    const outcome = authorizer.authorizeFunctionUrlRequest(call(keyOf('Caller')));

    // Assert
    expect(outcome).toMatchObject({ allowed: true });
  });

  it('refuses a caller granted only InvokeFunctionUrl, as AWS does since October 2025', () => {
    // Arrange
    const { authorizer, keyOf } = setUp(withCaller(['lambda:InvokeFunctionUrl']));

    // Act
    const outcome = authorizer.authorizeFunctionUrlRequest(call(keyOf('Caller')));

    // Assert
    expect(outcome).toMatchObject({
      allowed: false,
      denial: { action: 'lambda:InvokeFunction' },
      response: { status: 403 },
    });
  });

  it('refuses an unsigned call to an AWS_IAM function URL with 403 Forbidden', () => {
    // Arrange
    const { authorizer } = setUp();

    // Act
    const outcome = authorizer.authorizeFunctionUrlRequest(call());

    // Assert
    expect(outcome).toMatchObject({
      allowed: false,
      denial: { reason: 'unsigned' },
      response: { status: 403 },
    });
  });
});
