/**
 * Function URL invocations → IAM authorizations (Lambda Developer Guide,
 * "Control access to Lambda function URLs"): since October 2025 a call through
 * a function URL needs both `lambda:InvokeFunctionUrl` and
 * `lambda:InvokeFunction`. The second carries `lambda:InvokedViaFunctionUrl =
 * true`, so a resource policy can allow InvokeFunction through the URL only;
 * both carry `lambda:FunctionUrlAuthType`.
 */
import type { AuthorizationRequest } from '../evaluate';

/** The two authorizations of one Function URL call. */
export function functionUrlAuthorizations(
  functionArn: string,
  authType: 'AWS_IAM' | 'NONE',
): readonly AuthorizationRequest[] {
  return [
    {
      action: 'lambda:InvokeFunctionUrl',
      resource: functionArn,
      context: { 'lambda:FunctionUrlAuthType': authType },
    },
    {
      action: 'lambda:InvokeFunction',
      resource: functionArn,
      context: { 'lambda:FunctionUrlAuthType': authType, 'lambda:InvokedViaFunctionUrl': 'true' },
    },
  ];
}
