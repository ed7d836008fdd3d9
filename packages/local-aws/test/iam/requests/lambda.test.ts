import { describe, expect, it } from 'vitest';
import { functionUrlAuthorizations } from '../../../src/iam/requests/lambda';

describe('functionUrlAuthorizations', () => {
  it('asks for InvokeFunctionUrl and for InvokeFunction marked as coming through the URL', () => {
    // Arrange
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:OrderApi';

    // Act
    const authorizations = functionUrlAuthorizations(arn, 'AWS_IAM');

    // Assert
    expect(authorizations).toEqual([
      {
        action: 'lambda:InvokeFunctionUrl',
        resource: arn,
        context: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' },
      },
      {
        action: 'lambda:InvokeFunction',
        resource: arn,
        context: { 'lambda:FunctionUrlAuthType': 'AWS_IAM', 'lambda:InvokedViaFunctionUrl': 'true' },
      },
    ]);
  });
});
