import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { FailureBucket, type FailureBucketProps } from '../../../lib/constructs/failure-bucket';
import { type Permission, permissionsIn } from '../iam-helpers';
import {
  arnOf,
  defined,
  logicalId,
  messageOf,
  newUnbundledStack,
  type PolicyStatement,
  propertiesOf,
  resourceOf,
  resourcesOfType,
  thrownBy,
} from '../template-helpers';

function bucketWith(props: FailureBucketProps = {}) {
  const stack = newUnbundledStack();
  const failureBucket = new FailureBucket(stack, 'FailureBucket', props);
  const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  return { stack, failureBucket, role, template: () => Template.fromStack(stack) };
}

function rolePermissions(template: Template): Permission[] {
  const policy = defined(resourcesOfType(template, 'AWS::IAM::Policy')[0], 'a role policy');
  return permissionsIn((policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

const sorted = (permissions: Permission[]) =>
  [...permissions].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('FailureBucket', () => {
  it('expires objects after the retention it is given, and is deleted with the stack when asked', () => {
    // Act
    const { failureBucket, template } = bucketWith({
      retention: Duration.days(3),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Assert
    const resource = resourceOf(template(), failureBucket.bucket);
    expect(resource.DeletionPolicy).toBe('Delete');
    expect(resource.Properties.LifecycleConfiguration).toEqual({
      Rules: [{ ExpirationInDays: 3, Status: 'Enabled' }],
    });
    expect(failureBucket.retention.toDays()).toBe(3);
  });

  it('is private, encrypted and owner-enforced', () => {
    // Act
    const { failureBucket, template } = bucketWith();

    // Assert
    expect(propertiesOf(template(), failureBucket.bucket)).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
  });

  it('lets the stream mapping put objects under aws/lambda/ and list the bucket, nothing more', () => {
    // Arrange
    const { failureBucket, role, template } = bucketWith();

    // Act
    failureBucket.grantWrite(role);

    // Assert
    const bucket = arnOf(failureBucket.bucket);
    expect(sorted(rolePermissions(template()))).toEqual(
      sorted([
        { action: 's3:PutObject', resource: { 'Fn::Join': ['', [bucket, '/aws/lambda/*']] } },
        { action: 's3:ListBucket', resource: bucket },
      ]),
    );
  });

  it('lets the sweeper list, read, write and delete its objects, nothing more', () => {
    // Arrange
    const { failureBucket, role, template } = bucketWith();

    // Act
    failureBucket.grantRecover(role);

    // Assert
    const bucket = arnOf(failureBucket.bucket);
    const objects = { 'Fn::Join': ['', [bucket, '/*']] };
    expect(sorted(rolePermissions(template()))).toEqual(
      sorted([
        { action: 's3:ListBucket', resource: bucket },
        ...['s3:GetObject', 's3:PutObject', 's3:DeleteObject'].map((action) => ({
          action,
          resource: objects,
        })),
      ]),
    );
  });

  it('acknowledges for cdk-nag, on the grantee, exactly the object wildcard of each grant', () => {
    // Arrange
    const { failureBucket, role } = bucketWith();

    // Act
    failureBucket.grantWrite(role);
    failureBucket.grantRecover(role);

    // Assert
    const acknowledged = role.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>));
    const bucket = logicalId(failureBucket.bucket);
    expect(acknowledged.sort()).toEqual([
      `Annotation::AwsSolutions-IAM5[Resource::<${bucket}.Arn>/*]`,
      `Annotation::AwsSolutions-IAM5[Resource::<${bucket}.Arn>/aws/lambda/*]`,
    ]);
  });

  it.each<[FailureBucketProps, RegExp]>([
    [
      { retention: Duration.days(400) },
      /failureBucket retention must be between 1 day and 365 days \(given 400 days\)/,
    ],
    [
      { retention: Duration.hours(12) },
      /failureBucket retention must be between 1 day and 365 days \(given 12 hours\)/,
    ],
    [
      { retention: Duration.hours(36) },
      /failureBucket retention must be whole days \(given 1 day 12 hours\)/,
    ],
  ])('rejects %o with a ConstructPropsError', (props, message) => {
    // Act
    const error = thrownBy(() => bucketWith(props));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});
