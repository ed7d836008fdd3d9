import { describe, expect, it } from 'vitest';
import { contextLookup } from '../../src/iam/context';
import { type CallerPrincipal, type Decision, evaluatePolicies } from '../../src/iam/evaluate';
import { IssueLog, type PolicyStatement, readPolicyDocument } from '../../src/iam/policy-document';

const ACCOUNT = '000000000000';
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Orders`;
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:orders`;
const session: CallerPrincipal = {
  kind: 'role-session',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Worker/WorkerFn`,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/Worker`,
  roleName: 'Worker',
  sessionName: 'WorkerFn',
  accountId: ACCOUNT,
};
const events: CallerPrincipal = { kind: 'service', service: 'events.amazonaws.com' };

function statements(...list: Record<string, unknown>[]): PolicyStatement[] {
  const log = new IssueLog();
  const read = readPolicyDocument({ Statement: list }, 'test', (value) => String(value), log);
  if (log.issues.length > 0) throw new Error(`test policy has issues: ${JSON.stringify(log.issues)}`);
  return read;
}

interface Case {
  readonly name: string;
  readonly principal?: CallerPrincipal;
  readonly identity?: PolicyStatement[];
  readonly resourcePolicy?: PolicyStatement[];
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  readonly expected: Pick<Decision, 'allowed'> & { reason?: string; grantedBy?: string };
}

const allowPut = { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: TABLE };
const cases: Case[] = [
  {
    name: 'allows an action an identity policy allows on that resource',
    identity: statements(allowPut),
    action: 'dynamodb:PutItem',
    resource: TABLE,
    expected: { allowed: true, grantedBy: 'identity-based' },
  },
  {
    name: 'implicitly denies an action no policy mentions',
    identity: statements(allowPut),
    action: 'dynamodb:DeleteItem',
    resource: TABLE,
    expected: { allowed: false, reason: 'implicit-deny' },
  },
  {
    name: 'implicitly denies the allowed action on another resource',
    identity: statements(allowPut),
    action: 'dynamodb:PutItem',
    resource: `${TABLE}-archive`,
    expected: { allowed: false, reason: 'implicit-deny' },
  },
  {
    name: 'does not extend a table grant to its indexes',
    identity: statements({ Effect: 'Allow', Action: 'dynamodb:Query', Resource: TABLE }),
    action: 'dynamodb:Query',
    resource: `${TABLE}/index/ByCustomer`,
    expected: { allowed: false, reason: 'implicit-deny' },
  },
  {
    name: 'lets an explicit Deny in an identity policy win over an Allow',
    identity: statements(
      { Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' },
      { Effect: 'Deny', Action: 'dynamodb:PutItem', Resource: TABLE },
    ),
    action: 'dynamodb:PutItem',
    resource: TABLE,
    expected: { allowed: false, reason: 'explicit-deny-identity' },
  },
  {
    name: 'lets an explicit Deny in the resource policy win over an identity Allow',
    identity: statements({ Effect: 'Allow', Action: 'sqs:*', Resource: QUEUE }),
    resourcePolicy: statements({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:SendMessage',
      Resource: QUEUE,
    }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    expected: { allowed: false, reason: 'explicit-deny-resource' },
  },
  {
    name: 'matches action wildcards such as dynamodb:Get*',
    identity: statements({ Effect: 'Allow', Action: 'dynamodb:Get*', Resource: TABLE }),
    action: 'dynamodb:GetItem',
    resource: TABLE,
    expected: { allowed: true, grantedBy: 'identity-based' },
  },
  {
    name: 'matches action names case-insensitively',
    identity: statements({ Effect: 'Allow', Action: 'SQS:sendmessage', Resource: QUEUE }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    expected: { allowed: true, grantedBy: 'identity-based' },
  },
  {
    name: 'allows every action but those listed in NotAction',
    identity: statements({ Effect: 'Allow', NotAction: 'dynamodb:Delete*', Resource: TABLE }),
    action: 'dynamodb:DeleteItem',
    resource: TABLE,
    expected: { allowed: false, reason: 'implicit-deny' },
  },
  {
    name: 'allows a NotAction statement for an action it does not list',
    identity: statements({ Effect: 'Allow', NotAction: 'dynamodb:Delete*', Resource: TABLE }),
    action: 'dynamodb:UpdateItem',
    resource: TABLE,
    expected: { allowed: true, grantedBy: 'identity-based' },
  },
  {
    name: 'applies a Deny with NotResource to every other resource',
    identity: statements(
      { Effect: 'Allow', Action: 'sqs:*', Resource: '*' },
      { Effect: 'Deny', Action: 'sqs:*', NotResource: QUEUE },
    ),
    action: 'sqs:SendMessage',
    resource: `${QUEUE}-other`,
    expected: { allowed: false, reason: 'explicit-deny-identity' },
  },
  {
    name: 'allows a service principal that the resource policy names under its condition',
    principal: events,
    resourcePolicy: statements({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: QUEUE,
      Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:events:us-east-1:000000000000:rule/bus/r' } },
    }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    context: { 'aws:SourceArn': 'arn:aws:events:us-east-1:000000000000:rule/bus/r' },
    expected: { allowed: true, grantedBy: 'resource-based' },
  },
  {
    name: 'denies the service principal delivering for another rule',
    principal: events,
    resourcePolicy: statements({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: QUEUE,
      Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:events:us-east-1:000000000000:rule/bus/r' } },
    }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    context: { 'aws:SourceArn': 'arn:aws:events:us-east-1:000000000000:rule/bus/other' },
    expected: { allowed: false, reason: 'implicit-deny' },
  },
  {
    name: 'allows a role session that the resource policy names by role ARN without any identity policy',
    resourcePolicy: statements({
      Effect: 'Allow',
      Principal: { AWS: session.roleArn },
      Action: 'sqs:SendMessage',
      Resource: QUEUE,
    }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    expected: { allowed: true, grantedBy: 'resource-based' },
  },
  {
    name: 'does not let a resource policy naming the account grant by itself',
    resourcePolicy: statements({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'sqs:*',
      Resource: QUEUE,
    }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    expected: { allowed: false, reason: 'implicit-deny' },
  },
  {
    name: 'applies a resource policy Deny naming the account to a role of that account',
    identity: statements({ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }),
    resourcePolicy: statements({
      Effect: 'Deny',
      Principal: { AWS: ACCOUNT },
      Action: 'sqs:PurgeQueue',
      Resource: QUEUE,
    }),
    action: 'sqs:PurgeQueue',
    resource: QUEUE,
    expected: { allowed: false, reason: 'explicit-deny-resource' },
  },
  {
    name: 'does not apply the CDK SecureTransport Deny to a request that came over TLS',
    identity: statements({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE }),
    resourcePolicy: statements({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:*',
      Resource: QUEUE,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    context: { 'aws:SecureTransport': 'true' },
    expected: { allowed: true, grantedBy: 'identity-based' },
  },
  {
    name: 'applies the SecureTransport Deny to a request without TLS',
    identity: statements({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE }),
    resourcePolicy: statements({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:*',
      Resource: QUEUE,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    context: { 'aws:SecureTransport': 'false' },
    expected: { allowed: false, reason: 'explicit-deny-resource' },
  },
  {
    name: 'excludes the principal listed in a Deny NotPrincipal from the Deny',
    identity: statements({ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }),
    resourcePolicy: statements({
      Effect: 'Deny',
      NotPrincipal: { AWS: session.arn },
      Action: 'sqs:*',
      Resource: QUEUE,
    }),
    action: 'sqs:DeleteQueue',
    resource: QUEUE,
    expected: { allowed: true, grantedBy: 'identity-based' },
  },
  {
    name: 'allows a LeadingKeys-scoped write whose partition keys all carry the allowed prefix',
    identity: statements({
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: TABLE,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ORDER#*'] } },
    }),
    action: 'dynamodb:PutItem',
    resource: TABLE,
    context: { 'dynamodb:LeadingKeys': ['ORDER#1'] },
    expected: { allowed: true, grantedBy: 'identity-based' },
  },
  {
    name: 'refuses a LeadingKeys-scoped write outside the allowed prefix',
    identity: statements({
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: TABLE,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ORDER#*'] } },
    }),
    action: 'dynamodb:PutItem',
    resource: TABLE,
    context: { 'dynamodb:LeadingKeys': ['ADMIN#1'] },
    expected: { allowed: false, reason: 'implicit-deny' },
  },
  {
    name: 'gives an anonymous caller only what a resource policy grants to everyone',
    principal: { kind: 'anonymous' },
    identity: [],
    resourcePolicy: statements({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:*',
      Resource: QUEUE,
    }),
    action: 'sqs:SendMessage',
    resource: QUEUE,
    expected: { allowed: false, reason: 'implicit-deny' },
  },
];

describe('evaluatePolicies', () => {
  it.each(cases)('$name', (testCase) => {
    // Arrange
    const input = {
      principal: testCase.principal ?? session,
      accountId: ACCOUNT,
      identityStatements: testCase.identity ?? [],
      resourceStatements: testCase.resourcePolicy ?? [],
      action: testCase.action,
      resource: testCase.resource,
      lookup: contextLookup(testCase.context ?? {}),
    };

    // Act
    const decision = evaluatePolicies(input);

    // Assert
    expect(decision).toMatchObject(testCase.expected);
  });

  it('names the statement that decided, for reports', () => {
    // Arrange
    const identity = statements(allowPut, { Effect: 'Deny', Action: 'dynamodb:PutItem', Resource: '*' });

    // Act
    const decision = evaluatePolicies({
      principal: session,
      accountId: ACCOUNT,
      identityStatements: identity,
      resourceStatements: [],
      action: 'dynamodb:PutItem',
      resource: TABLE,
      lookup: contextLookup({}),
    });

    // Assert
    expect(decision).toMatchObject({ allowed: false, statement: { origin: 'test#1' } });
  });
});
