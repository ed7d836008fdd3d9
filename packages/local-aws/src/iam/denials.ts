/**
 * Refusals in each service's wire shape, so that the SDK raises the error a
 * deployed function would see. Shapes and wording as AWS returns them:
 *
 * - DynamoDB (JSON 1.0): HTTP 400 `{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: <arn>
 *   is not authorized to perform: dynamodb:PutItem on resource: <table arn> because no identity-based policy
 *   allows the dynamodb:PutItem action"}` (response bodies quoted in public issues, e.g.
 *   baopham/laravel-dynamodb#32, anomalyco/sst#4469); the SDK names it `AccessDeniedException`.
 * - SQS (JSON protocol, query-compatible): the SDK takes the error code from the
 *   `x-amzn-query-error: AccessDenied;Sender` header, so `error.name` is `AccessDenied`, as with the query
 *   protocol; SQS lower-cases the action in the message (`sqs:sendmessage`, aws/serverless-application-model#3633).
 *   InvalidClientTokenId and MissingAuthenticationToken are HTTP 403 (SQS API Reference, Common Errors).
 * - EventBridge (JSON 1.1): HTTP 400 `{"__type":"AccessDeniedException","message":…}`.
 * - S3: HTTP 403 `<Error><Code>AccessDenied</Code><Message>User: <arn> is not authorized to perform:
 *   s3:GetObject on resource: "<object arn>" because …</Message>…` (S3 User Guide, "Troubleshoot access
 *   denied (403 Forbidden) errors": the resource ARN is quoted); anonymous callers get `Access Denied`.
 * - Function URL: HTTP 403 `{"Message":"Forbidden. For troubleshooting Function URL authorization issues,
 *   see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}` (earlier: `{"Message":"Forbidden"}`).
 *
 * Message endings follow the IAM User Guide, "Access denied error messages": `because no identity-based
 * policy allows the <action> action`, `with an explicit deny in an identity-based policy`, `with an explicit
 * deny in a resource-based policy`, and `because no resource-based policy allows the <action> action` for
 * callers without identity policies (services, anonymous).
 */
import { randomUUID } from 'node:crypto';
import type { DenialReason } from './evaluate';

/** The services a proxy can stand in front of. */
export type ProxiedService = 'dynamodb' | 'sqs' | 'events' | 's3';

/** A complete HTTP response to send instead of forwarding. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What a denial message says. */
export interface DeniedRequest {
  /** `arn:aws:sts::…:assumed-role/…`, a service principal, or `anonymous`. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly reason: DenialReason;
  /** Whether the caller has identity-based policies at all (role sessions do; services and anonymous do not). */
  readonly hasIdentityPolicies: boolean;
}

/** The AccessDenied message of a service, worded as AWS words it. */
export function accessDeniedMessage(service: ProxiedService, denied: DeniedRequest): string {
  const action = service === 'sqs' ? denied.action.toLowerCase() : denied.action;
  const ending =
    denied.reason === 'explicit-deny-identity'
      ? 'with an explicit deny in an identity-based policy'
      : denied.reason === 'explicit-deny-resource'
        ? 'with an explicit deny in a resource-based policy'
        : `because no ${denied.hasIdentityPolicies ? 'identity' : 'resource'}-based policy allows the ${action} action`;
  const resource = service === 's3' ? `"${denied.resource}"` : denied.resource;
  return `User: ${denied.principal} is not authorized to perform: ${action} on resource: ${resource} ${ending}`;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A service error in the service's protocol: JSON `__type` + message, SQS query-error header, S3 XML. */
export function serviceError(
  service: ProxiedService,
  error: {
    readonly status: number;
    readonly code: string;
    readonly message: string;
    readonly extraXml?: string;
  },
): HttpResponse {
  const requestId = randomUUID();
  switch (service) {
    case 'dynamodb':
      return {
        status: error.status,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
        body: JSON.stringify({ __type: `com.amazon.coral.service#${error.code}`, Message: error.message }),
      };
    case 'sqs':
      return {
        status: error.status,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': requestId,
          'x-amzn-query-error': `${error.code};Sender`,
        },
        body: JSON.stringify({ __type: `com.amazon.coral.service#${error.code}`, message: error.message }),
      };
    case 'events':
      return {
        status: error.status,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
        body: JSON.stringify({ __type: error.code, message: error.message }),
      };
    case 's3':
      return {
        status: error.status,
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
        body:
          '<?xml version="1.0" encoding="UTF-8"?>\n' +
          `<Error><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message>${error.extraXml ?? ''}` +
          `<RequestId>${requestId}</RequestId><HostId>local</HostId></Error>`,
      };
  }
}

const ACCESS_DENIED: Readonly<Record<ProxiedService, { status: number; code: string }>> = {
  dynamodb: { status: 400, code: 'AccessDeniedException' },
  sqs: { status: 403, code: 'AccessDenied' },
  events: { status: 400, code: 'AccessDeniedException' },
  s3: { status: 403, code: 'AccessDenied' },
};

/** The AccessDenied response of a service for one denied authorization. */
export function accessDeniedResponse(service: ProxiedService, denied: DeniedRequest): HttpResponse {
  const message =
    service === 's3' && denied.principal === 'anonymous'
      ? 'Access Denied'
      : accessDeniedMessage(service, denied);
  return serviceError(service, { ...ACCESS_DENIED[service], message });
}

/** The response to a request whose signature names no known access key, or that carries no signature. */
export function authenticationFailureResponse(
  service: ProxiedService,
  failure: { readonly kind: 'unsigned' } | { readonly kind: 'unknown-key'; readonly accessKeyId: string },
): HttpResponse {
  const invalidToken = 'The security token included in the request is invalid.';
  const missingToken = 'Request is missing Authentication Token';
  if (service === 's3') {
    // Unsigned S3 requests are anonymous and reach policy evaluation instead.
    const id = failure.kind === 'unknown-key' ? failure.accessKeyId : '';
    return serviceError('s3', {
      status: 403,
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
      extraXml: `<AWSAccessKeyId>${xmlEscape(id)}</AWSAccessKeyId>`,
    });
  }
  if (service === 'sqs')
    return failure.kind === 'unsigned'
      ? serviceError('sqs', {
          status: 403,
          code: 'MissingAuthenticationToken',
          message:
            'The request must contain either a valid (registered) AWS access key ID or X.509 certificate.',
        })
      : serviceError('sqs', { status: 403, code: 'InvalidClientTokenId', message: invalidToken });
  return failure.kind === 'unsigned'
    ? serviceError(service, {
        status: 400,
        code: 'MissingAuthenticationTokenException',
        message: missingToken,
      })
    : serviceError(service, { status: 400, code: 'UnrecognizedClientException', message: invalidToken });
}

const VALIDATION: Readonly<Record<ProxiedService, { status: number; code: string }>> = {
  dynamodb: { status: 400, code: 'ValidationException' },
  sqs: { status: 400, code: 'InvalidParameterValue' },
  events: { status: 400, code: 'ValidationException' },
  s3: { status: 400, code: 'InvalidRequest' },
};

/** The response to a request the IAM emulation could not read (it never reaches the engine). */
export function unreadableRequestResponse(service: ProxiedService, problem: string): HttpResponse {
  return serviceError(service, {
    ...VALIDATION[service],
    message: `local-aws IAM could not read the request: ${problem}`,
  });
}

/** The response of a Function URL that refuses a call (any authentication or authorization failure). */
export function functionUrlForbiddenResponse(): HttpResponse {
  return {
    status: 403,
    headers: {
      'content-type': 'application/json',
      'x-amzn-requestid': randomUUID(),
    },
    body: JSON.stringify({
      Message:
        'Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html',
    }),
  };
}
