import { describe, expect, it } from 'vitest';
import { UNRESOLVED } from '../../src/iam/policy-document';
import {
  assertNoPolicyErrors,
  IamTemplateError,
  readTemplatePolicies,
} from '../../src/iam/template-policies';
import {
  ACCOUNT,
  loadPipelineTemplate,
  localResolver,
  queueArn,
  REGION,
  tableArn,
} from './fixtures/local-resources';

const template = loadPipelineTemplate();
const read = (t = template) =>
  readTemplatePolicies(t, { resolve: localResolver(t), accountId: ACCOUNT, region: REGION });

describe('readTemplatePolicies on the synthesized pipeline', () => {
  it('maps every function to the role of its Role: Fn::GetAtt', () => {
    // Act
    const policies = read();

    // Assert
    expect(Object.fromEntries([...policies.functionRoles].map(([fn, role]) => [fn, role.logicalId]))).toEqual(
      {
        OrderApiFunction7DE8FFB8: 'OrderApiFunctionRole393806BC',
        RelayFunctionE902C34E: 'RelayFunctionRoleB0523DC7',
        SweeperFunction15FDF226: 'SweeperFunctionRoleEC1FE018',
        OrderProjectionFunction6B7E8529: 'OrderProjectionFunctionRole20188439',
        OrderActivityFunction1679DFB0: 'OrderActivityFunctionRoleD9548A23',
      },
    );
  });

  it('gives each role a local ARN named after its logical id', () => {
    // Act
    const role = read().roles.get('RelayFunctionRoleB0523DC7');

    // Assert
    expect(role?.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/RelayFunctionRoleB0523DC7`);
    expect(role?.roleId).toMatch(/^AROA[0-9A-F]{17}$/);
  });

  it('attaches the statements of the AWS::IAM::Policy that lists the role, resolved to local ARNs', () => {
    // Act
    const statements = read().roles.get('OrderApiFunctionRole393806BC')?.statements ?? [];

    // Assert
    expect(statements).toEqual([
      expect.objectContaining({
        effect: 'Allow',
        actions: [
          'dynamodb:ConditionCheckItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:GetItem',
          'dynamodb:Query',
        ],
        resources: [tableArn('OutboxTable23220A39')],
        origin: 'OrderApiFunctionRoleDefaultPolicyFD58F13E#2',
      }),
    ]);
  });

  it('resolves an index ARN built with Fn::Join', () => {
    // Act
    const statements = read().roles.get('SweeperFunctionRoleEC1FE018')?.statements ?? [];

    // Assert
    expect(statements.flatMap((s) => s.resources ?? [])).toContain(
      `${tableArn('OutboxTable23220A39')}/index/PendingIndex`,
    );
  });

  it('leaves out statements about services that are not enforced locally (logs, xray) without issues', () => {
    // Act
    const policies = read();

    // Assert
    const actions = [...policies.roles.values()].flatMap((role) =>
      role.statements.flatMap((s) => s.actions ?? []),
    );
    expect(actions.some((action) => action.startsWith('logs:') || action.startsWith('xray:'))).toBe(false);
    expect(policies.issues).toEqual([]);
  });

  it('reads each queue policy under the queue ARN, with its principal and ArnEquals condition', () => {
    // Act
    const statements = read().resourcePolicies.get(queueArn('OrderActivityQueue697916BB')) ?? [];

    // Assert
    expect(statements.map((s) => [s.effect, s.principal?.everyone, s.principal?.service])).toEqual([
      ['Deny', true, []],
      ['Allow', false, ['events.amazonaws.com']],
    ]);
    expect(statements[1]?.conditions).toEqual([
      {
        operator: 'ArnEquals',
        key: 'aws:SourceArn',
        values: [
          `arn:aws:events:${REGION}:${ACCOUNT}:rule/OutboxPipelineEventBusD5796949/OrderActivityRuleE7DFA261`,
        ],
      },
    ]);
  });

  it('turns an AWS::Lambda::Permission into a statement of the function policy', () => {
    // Act
    const statements = read().resourcePolicies.get(
      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:SweeperFunction15FDF226`,
    );

    // Assert
    expect(statements).toEqual([
      expect.objectContaining({
        effect: 'Allow',
        actions: ['lambda:InvokeFunction'],
        principal: expect.objectContaining({ service: ['events.amazonaws.com'] }),
        conditions: [
          {
            operator: 'ArnLike',
            key: 'AWS:SourceArn',
            values: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/SweeperSchedule37615569`],
          },
        ],
      }),
    ]);
  });

  it('records the AuthType of the Function URL under the function ARN', () => {
    // Act
    const urls = read().functionUrlAuthTypes;

    // Assert
    expect(Object.fromEntries(urls)).toEqual({
      [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:OrderApiFunction7DE8FFB8`]: 'AWS_IAM',
    });
  });
});

describe('readTemplatePolicies on other shapes', () => {
  const role = (properties: Record<string, unknown> = {}) => ({
    Type: 'AWS::IAM::Role',
    Properties: { AssumeRolePolicyDocument: {}, ...properties },
  });
  const readResources = (resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>) =>
    readTemplatePolicies(
      { Resources: resources },
      {
        accountId: ACCOUNT,
        region: REGION,
        resolve: (value, where) => {
          if (typeof value === 'string') return value;
          throw new Error(`${where}: no local value for ${JSON.stringify(value)}`);
        },
      },
    );

  it('reads inline Policies of the role itself', () => {
    // Act
    const policies = readResources({
      R: role({
        Policies: [
          {
            PolicyName: 'p',
            PolicyDocument: { Statement: { Effect: 'Allow', Action: 'sqs:*', Resource: '*' } },
          },
        ],
      }),
    });

    // Assert
    expect(policies.roles.get('R')?.statements.map((s) => s.origin)).toEqual(['R.Policies[0](p)#0']);
  });

  it('uses RoleName and Path for the role ARN when the template sets them', () => {
    // Act
    const policies = readResources({ R: role({ RoleName: 'worker', Path: '/app/' }) });

    // Assert
    expect(policies.roles.get('R')?.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/app/worker`);
  });

  it('attaches a known AWS managed policy and reports an unknown one as an error that grants nothing', () => {
    // Act
    const policies = readResources({
      R: role({
        ManagedPolicyArns: [
          'arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole',
          'arn:aws:iam::aws:policy/AdministratorAccess',
        ],
      }),
    });

    // Assert
    expect(policies.roles.get('R')?.statements.flatMap((s) => s.actions)).toContain('sqs:ReceiveMessage');
    expect(policies.issues).toEqual([
      expect.objectContaining({
        severity: 'error',
        message: expect.stringMatching(/unknown managed policy .*AdministratorAccess/),
      }),
    ]);
  });

  it('attaches a template AWS::IAM::ManagedPolicy referenced from ManagedPolicyArns', () => {
    // Act
    const policies = readResources({
      MP: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          PolicyDocument: { Statement: [{ Effect: 'Deny', Action: 'dynamodb:DeleteItem', Resource: '*' }] },
        },
      },
      R: role({ ManagedPolicyArns: [{ Ref: 'MP' }] }),
    });

    // Assert
    expect(policies.roles.get('R')?.statements).toEqual([
      expect.objectContaining({ effect: 'Deny', origin: 'MP#0' }),
    ]);
    expect(policies.roles.get('R')?.managedPolicyArns).toEqual([`arn:aws:iam::${ACCOUNT}:policy/MP`]);
  });

  it('records a value it cannot resolve as an error and keeps a resource that matches nothing', () => {
    // Act
    const policies = readResources({
      R: role(),
      P: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'R' }],
          PolicyDocument: {
            Statement: [
              { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['Gone', 'Arn'] } },
            ],
          },
        },
      },
    });

    // Assert
    expect(policies.roles.get('R')?.statements[0]?.resources).toEqual([UNRESOLVED]);
    expect(policies.issues).toEqual([
      expect.objectContaining({ severity: 'error', where: 'P#0.Resource[0]' }),
    ]);
  });

  it('reports a function whose role is not a role of the template', () => {
    // Act
    const policies = readResources({
      F: { Type: 'AWS::Lambda::Function', Properties: { Role: 'arn:aws:iam::111111111111:role/elsewhere' } },
    });

    // Assert
    expect(policies.functionRoles.size).toBe(0);
    expect(policies.issues).toEqual([expect.objectContaining({ severity: 'error', where: 'F.Role' })]);
  });

  it('reads a bucket policy under the bucket ARN', () => {
    // Act
    const policies = readResources({
      BP: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: 'assets',
          PolicyDocument: {
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: '*' },
                Action: 's3:GetObject',
                Resource: 'arn:aws:s3:::assets/*',
              },
            ],
          },
        },
      },
    });

    // Assert
    expect(policies.resourcePolicies.get('arn:aws:s3:::assets')?.[0]?.principal?.everyone).toBe(true);
  });

  it('reads a table ResourcePolicy under the table ARN', () => {
    // Act
    const policies = readTemplatePolicies(
      {
        Resources: {
          T: {
            Type: 'AWS::DynamoDB::Table',
            Properties: {
              ResourcePolicy: {
                PolicyDocument: {
                  Statement: [
                    { Effect: 'Deny', Principal: '*', Action: 'dynamodb:DeleteTable', Resource: '*' },
                  ],
                },
              },
            },
          },
        },
      },
      {
        accountId: ACCOUNT,
        region: REGION,
        resolve: () => tableArn('T'),
      },
    );

    // Assert
    expect(policies.resourcePolicies.get(tableArn('T'))).toEqual([
      expect.objectContaining({ effect: 'Deny' }),
    ]);
  });
});

describe('assertNoPolicyErrors', () => {
  it('passes the synthesized pipeline', () => {
    // Act
    const act = () => assertNoPolicyErrors(read());

    // Assert
    expect(act).not.toThrow();
  });

  it('lists every error issue of a template that cannot be emulated faithfully', () => {
    // Arrange
    const policies = readTemplatePolicies(
      { Resources: { F: { Type: 'AWS::Lambda::Function', Properties: { Role: 'arn:aws:iam::1:role/x' } } } },
      { accountId: ACCOUNT, region: REGION, resolve: String },
    );

    // Act
    const act = () => assertNoPolicyErrors(policies);

    // Assert
    expect(act).toThrow(IamTemplateError);
    expect(act).toThrow(/F\.Role: is not Fn::GetAtt of a role in the template/);
  });
});
