/**
 * local-aws: runs a synthesized CDK stack on one machine. DynamoDB Local (tables, transactions,
 * streams), fauxqs (SQS queues and S3 buckets), a local EventBridge (PutEvents, rules, archives,
 * replays, TestEventPattern), every Node.js Lambda function from its bundled asset, and every
 * event source mapping of the template, with no Docker and no AWS account. See ../README.md.
 */
export {
  type DynamoDbLocal,
  type DynamoDbLocalOptions,
  LOCAL_CREDENTIALS,
  startDynamoDbLocal,
} from './engines/dynamodb-local';
export { EngineError, EngineStartError, JavaNotFoundError, PortInUseError } from './engines/errors';
export { getFreePort, LOOPBACK_HOST } from './engines/free-port';
export { LocalS3Client, S3RequestError } from './engines/s3-client';
export {
  type SqsEmulator,
  type SqsEmulatorOptions,
  type SqsFaults,
  startSqsEmulator,
} from './engines/sqs-emulator';
export {
  type OnFailureDestination,
  type S3FailureObject,
  s3FailureObjectKey,
} from './event-source-mappings/on-failure-destinations';
export type {
  StreamBatchFailureRecord,
  StreamFailureCondition,
} from './event-source-mappings/stream-failure-record';
export { readAllStreamRecords } from './event-source-mappings/stream-reader';
export {
  type EventBridgeEvent,
  type EventBusEmulator,
  type EventBusEmulatorOptions,
  startEventBusEmulator,
} from './eventbridge/event-bus-emulator';
export {
  compileEventPattern,
  type EventPattern,
  EventPatternError,
  matchesEventPattern,
  validateEventPattern,
} from './eventbridge/event-pattern';
export {
  compileFilterCriteria,
  type FilterCriteriaFilter,
  type FilterCriteriaKind,
  matchesFilterCriteria,
} from './eventbridge/filter-criteria';
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
export { checkNodeRuntimes, NodeRuntimeMismatchError } from './lambda/node-runtime';
export {
  createBuckets,
  createQueues,
  createTables,
  type LocalBucket,
  type LocalQueue,
  type LocalTable,
  localBucketName,
} from './resources';
export type { LocalIam, ServiceEndpoints } from './runtime/iam';
export {
  type InjectedFaults,
  type LocalAws,
  type LocalAwsOptions,
  type LocalFaults,
  type ObservedInvocation,
  startLocalAws,
} from './runtime/local-aws';
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
  type BucketSpec,
  type FunctionSpec,
  type MappingSpec,
  type QueueSpec,
  readTopology,
  type TableSpec,
  type Topology,
} from './template/topology';
