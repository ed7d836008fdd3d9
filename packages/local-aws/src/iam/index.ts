/**
 * IAM for the local runtime: reads the template's identity and resource
 * policies, identifies each function by the credentials it signs with, maps
 * requests to the authorizations AWS performs, evaluates them as AWS does and
 * refuses in each service's wire shape. See ./README.md.
 */
export {
  type AuthorizationOutcome,
  createIamAuthorizer,
  type IamAuthorizer,
  type IamAuthorizerOptions,
  type IncomingServiceRequest,
  type RequestOutcome,
} from './authorizer';
export { type ConditionContext, EVALUATED_CONTEXT_KEYS } from './context';
export {
  CredentialRegistry,
  type CredentialRegistryOptions,
  type KnownCaller,
  type LocalCredentials,
  signingIdentity,
} from './credentials';
export { type DenialCount, DenialLog, type DenialRecord } from './denial-log';
export type { HttpResponse, ProxiedService } from './denials';
export {
  type AuthorizationRequest,
  type CallerPrincipal,
  type Decision,
  type DenialReason,
  evaluatePolicies,
} from './evaluate';
export { KNOWN_MANAGED_POLICIES } from './managed-policies';
export type { PolicyIssue, PolicyStatement } from './policy-document';
export { type IamProxy, IamProxyError, type IamProxyOptions, startIamProxy } from './proxy';
export { mapDynamoDbRequest, type TableKeyLookup, type TableKeys } from './requests/dynamodb';
export { eventBusArn, eventRuleArn, mapEventBridgeRequest } from './requests/eventbridge';
export { functionUrlAuthorizations } from './requests/lambda';
export { mapS3Request } from './requests/s3';
export { mapSqsRequest, queueArnFromUrl } from './requests/sqs';
export { readTableKeys } from './requests/table-keys';
export { type MappedRequest, RequestMappingError } from './requests/types';
export {
  assertNoPolicyErrors,
  type CfnTemplate,
  ENFORCED_SERVICES,
  IamTemplateError,
  type ReadTemplatePoliciesOptions,
  type RolePolicies,
  readTemplatePolicies,
  type TemplatePolicies,
} from './template-policies';
