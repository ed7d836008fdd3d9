/**
 * local-aws: runs a synthesized CDK stack on one machine. DynamoDB Local (tables, transactions,
 * streams), an SQS emulator, a local EventBridge (PutEvents, rules, archives, replays), every
 * Node.js Lambda function from its bundled asset, and every event source mapping of the
 * template, with no Docker and no AWS account. See ../README.md.
 */
export {
  type DynamoDbLocal,
  type DynamoDbLocalOptions,
  LOCAL_CREDENTIALS,
  startDynamoDbLocal,
} from './engines/dynamodb-local';
export { EngineError, EngineStartError, JavaNotFoundError, PortInUseError } from './engines/errors';
export { getFreePort, LOOPBACK_HOST } from './engines/free-port';
export {
  type SqsEmulator,
  type SqsEmulatorOptions,
  type SqsFaults,
  startSqsEmulator,
} from './engines/sqs-emulator';
export { readAllStreamRecords } from './event-source-mappings/stream-reader';
export {
  type EventBridgeEvent,
  type EventBusEmulator,
  type EventBusEmulatorOptions,
  startEventBusEmulator,
} from './eventbridge/event-bus-emulator';
export {
  compileEventPattern,
  compileFilterCriteria,
  type EventPattern,
  EventPatternError,
  matchesEventPattern,
} from './eventbridge/event-pattern';
export { type StreamFaults, seededRandom } from './faults';
export {
  type AuthorizationOutcome,
  type AuthorizationRequest,
  assertNoPolicyErrors,
  type CallerPrincipal,
  type CfnTemplate,
  type ConditionContext,
  CredentialRegistry,
  type CredentialRegistryOptions,
  createIamAuthorizer,
  type Decision,
  type DenialCount,
  DenialLog,
  type DenialReason,
  type DenialRecord,
  ENFORCED_SERVICES,
  EVALUATED_CONTEXT_KEYS,
  evaluatePolicies,
  eventBusArn,
  eventRuleArn,
  functionUrlAuthorizations,
  type HttpResponse,
  type IamAuthorizer,
  type IamAuthorizerOptions,
  type IamProxy,
  IamProxyError,
  type IamProxyOptions,
  IamTemplateError,
  type IncomingServiceRequest,
  KNOWN_MANAGED_POLICIES,
  type KnownCaller,
  type LocalCredentials,
  type MappedRequest,
  mapDynamoDbRequest,
  mapEventBridgeRequest,
  mapS3Request,
  mapSqsRequest,
  type PolicyIssue,
  type PolicyStatement,
  type ProxiedService,
  queueArnFromUrl,
  type ReadTemplatePoliciesOptions,
  RequestMappingError,
  type RequestOutcome,
  type RolePolicies,
  readTableKeys,
  readTemplatePolicies,
  signingIdentity,
  startIamProxy,
  type TableKeyLookup,
  type TableKeys,
  type TemplatePolicies,
} from './iam';
export { createQueues, createTables, type LocalQueue, type LocalTable } from './resources';
export {
  type InjectedFaults,
  type LocalAws,
  type LocalAwsOptions,
  type LocalFaults,
  type ObservedInvocation,
  startLocalAws,
} from './runtime';
export {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type LocalResource,
  referencedLogicalId,
  resolveValue,
  TemplateResolutionError,
} from './template/intrinsics';
export {
  type CdkAppSource,
  type SynthesizedStack,
  sourcesFingerprint,
  synthesizeCdkApp,
} from './template/synth';
export {
  type FunctionSpec,
  type MappingSpec,
  type QueueSpec,
  readTopology,
  type TableSpec,
  type Topology,
} from './template/topology';
