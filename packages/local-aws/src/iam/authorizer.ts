/**
 * Puts the pieces together: identifies the caller of an HTTP request from its
 * signature, maps the request to IAM authorizations, evaluates them against the
 * template's policies, and answers in the service's wire shape. Also the checks
 * the EventBridge emulator (delivery to SQS targets) and the Function URL
 * server call. Pure apart from the denial log: no I/O.
 */
import { type ConditionContext, contextLookup } from './context';
import { type CredentialRegistry, type KnownCaller, signingIdentity } from './credentials';
import { DenialLog, type DenialRecord } from './denial-log';
import {
  accessDeniedMessage,
  accessDeniedResponse,
  authenticationFailureResponse,
  functionUrlForbiddenResponse,
  type HttpResponse,
  type ProxiedService,
  serviceError,
  unreadableRequestResponse,
} from './denials';
import { type AuthorizationRequest, type CallerPrincipal, type Decision, evaluatePolicies } from './evaluate';
import type { PolicyStatement } from './policy-document';
import { mapDynamoDbRequest, type TableKeyLookup } from './requests/dynamodb';
import { mapEventBridgeRequest } from './requests/eventbridge';
import { functionUrlAuthorizations } from './requests/lambda';
import { mapS3Request } from './requests/s3';
import { mapSqsRequest } from './requests/sqs';
import { type MappedRequest, RequestMappingError } from './requests/types';
import type { RolePolicies, TemplatePolicies } from './template-policies';

/** Options of {@link createIamAuthorizer}. */
export interface IamAuthorizerOptions {
  readonly policies: TemplatePolicies;
  readonly credentials: CredentialRegistry;
  /** Key schemas of the local tables (see `readTableKeys`), for `dynamodb:LeadingKeys`. */
  readonly tableKeys: TableKeyLookup;
  /**
   * What to do with an operation the request mappers do not know.
   * @default 'deny': refused with an AccessDenied that names the operation, and recorded
   */
  readonly unmappedOperations?: 'deny' | 'allow';
  /**
   * Called for every denial, e.g. to log it.
   * @default nothing beyond the denial log
   */
  readonly onDenial?: (record: DenialRecord) => void;
  /**
   * Source of `aws:CurrentTime` and `aws:EpochTime`.
   * @default the system clock
   */
  readonly clock?: () => Date;
}

/** An HTTP request as a proxy received it. */
export interface IncomingServiceRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The body; JSON services need it, S3 only for DeleteObjects. */
  readonly body?: string;
}

/** The verdict on one HTTP request. */
export type RequestOutcome =
  | { readonly allowed: true; readonly caller: KnownCaller | CallerPrincipal; readonly operation?: string }
  | { readonly allowed: false; readonly response: HttpResponse; readonly denial: DenialRecord };

/** The verdict on a set of authorizations for a known principal. */
export type AuthorizationOutcome =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly authorization: AuthorizationRequest;
      readonly decision: Extract<Decision, { allowed: false }>;
      readonly message: string;
    };

/** Authorizes requests of the local stack as AWS would. Create one per runtime with {@link createIamAuthorizer}. */
export interface IamAuthorizer {
  readonly denials: DenialLog;
  /** One request to a service endpoint: what the enforcing proxy calls. */
  authorizeHttpRequest(service: ProxiedService, request: IncomingServiceRequest): RequestOutcome;
  /**
   * EventBridge delivering a rule's event to an SQS target: principal `events.amazonaws.com`,
   * `sqs:SendMessage` on the queue, `aws:SourceArn` = the rule ARN, `aws:SourceAccount` = the account.
   * Only the queue policy can allow it. On AWS a refused delivery is not retried: it goes straight to the
   * target's dead-letter queue with ERROR_CODE NO_PERMISSIONS (EventBridge User Guide, "Using dead-letter queues").
   */
  authorizeEventBridgeDelivery(delivery: {
    readonly ruleArn: string;
    readonly queueArn: string;
  }): AuthorizationOutcome;
  /** One call through a Function URL (both `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`). */
  authorizeFunctionUrlRequest(request: {
    readonly functionArn: string;
    readonly url: string;
    readonly headers: IncomingServiceRequest['headers'];
  }): RequestOutcome;
  /** Low level: evaluates authorizations for a principal, first denial wins. */
  authorize(
    principal: CallerPrincipal,
    authorizations: readonly AuthorizationRequest[],
    extra?: ConditionContext,
  ): AuthorizationOutcome;
}

const principalName = (principal: CallerPrincipal) =>
  principal.kind === 'role-session'
    ? principal.arn
    : principal.kind === 'service'
      ? principal.service
      : 'anonymous';

/** Creates the authorizer of one local stack. */
export function createIamAuthorizer(options: IamAuthorizerOptions): IamAuthorizer {
  return new LocalIamAuthorizer(options);
}

class LocalIamAuthorizer implements IamAuthorizer {
  readonly denials: DenialLog;
  private readonly rolesByArn = new Map<string, RolePolicies>();
  private readonly env: {
    readonly accountId: string;
    readonly region: string;
    readonly tableKeys: TableKeyLookup;
  };

  constructor(private readonly options: IamAuthorizerOptions) {
    this.denials = new DenialLog(options.onDenial);
    for (const role of options.policies.roles.values()) this.rolesByArn.set(role.roleArn, role);
    const { accountId, region } = options.policies;
    this.env = { accountId, region, tableKeys: options.tableKeys };
  }

  authorize(
    principal: CallerPrincipal,
    authorizations: readonly AuthorizationRequest[],
    extra: ConditionContext = {},
  ) {
    const base = this.principalContext(principal);
    const identityStatements =
      principal.kind === 'role-session' ? (this.rolesByArn.get(principal.roleArn)?.statements ?? []) : [];
    for (const authorization of authorizations) {
      const decision = evaluatePolicies({
        principal,
        accountId: this.env.accountId,
        identityStatements,
        resourceStatements: this.resourcePolicyOf(authorization.resource),
        action: authorization.action,
        resource: authorization.resource,
        lookup: contextLookup(base, extra, authorization.context),
      });
      if (!decision.allowed) {
        const message = accessDeniedMessage(
          'dynamodb',
          this.deniedRequest(principal, authorization, decision),
        );
        return { allowed: false as const, authorization, decision, message };
      }
    }
    return { allowed: true as const };
  }

  authorizeHttpRequest(service: ProxiedService, request: IncomingServiceRequest): RequestOutcome {
    const identity = signingIdentity(request.headers, request.url);
    let caller: KnownCaller | CallerPrincipal;
    if (identity.kind === 'unsigned') {
      if (service !== 's3')
        return this.refuse(
          service,
          'unsigned',
          authenticationFailureResponse(service, identity),
          'request carries no SigV4 signature',
        );
      caller = { kind: 'anonymous' };
    } else {
      const known = this.options.credentials.resolve(identity.accessKeyId);
      if (known === undefined)
        return this.refuse(
          service,
          'unknown-access-key',
          authenticationFailureResponse(service, { kind: 'unknown-key', accessKeyId: identity.accessKeyId }),
          `access key id ${identity.accessKeyId} was never issued locally`,
          identity.accessKeyId,
        );
      caller = known;
    }
    if (caller.kind === 'administrator') return { allowed: true, caller };
    return this.authorizeMapped(service, request, caller);
  }

  private authorizeMapped(
    service: ProxiedService,
    request: IncomingServiceRequest,
    caller: CallerPrincipal,
  ): RequestOutcome {
    let mapped: MappedRequest | undefined;
    try {
      mapped = this.map(service, request);
    } catch (error) {
      const problem =
        error instanceof RequestMappingError || error instanceof SyntaxError ? error.message : String(error);
      return this.refuse(
        service,
        'unreadable-request',
        unreadableRequestResponse(service, problem),
        principalName(caller),
      );
    }
    if (mapped === undefined) {
      const operation = operationName(service, request);
      if (this.options.unmappedOperations === 'allow') return { allowed: true, caller, operation };
      const message = `local-aws IAM does not know which permissions ${service} ${operation} needs, so it refuses it (unmappedOperations: 'allow' forwards such calls)`;
      const response = serviceError(service, {
        status: service === 's3' || service === 'sqs' ? 403 : 400,
        code: service === 's3' || service === 'sqs' ? 'AccessDenied' : 'AccessDeniedException',
        message,
      });
      return this.refuse(service, 'unmapped-operation', response, message, principalName(caller), operation);
    }
    const outcome = this.authorize(caller, mapped.authorizations);
    if (outcome.allowed) return { allowed: true, caller, operation: mapped.operation };
    const denied = this.deniedRequest(caller, outcome.authorization, outcome.decision);
    const response = accessDeniedResponse(service, denied);
    const denial = this.record(
      service,
      mapped.operation,
      denied,
      outcome.decision,
      accessDeniedMessage(service, denied),
    );
    return { allowed: false, response, denial };
  }

  authorizeEventBridgeDelivery(delivery: {
    readonly ruleArn: string;
    readonly queueArn: string;
  }): AuthorizationOutcome {
    const principal: CallerPrincipal = { kind: 'service', service: 'events.amazonaws.com' };
    const authorization = { action: 'sqs:SendMessage', resource: delivery.queueArn, context: {} };
    const outcome = this.authorize(principal, [authorization], {
      'aws:SourceArn': delivery.ruleArn,
      'aws:SourceAccount': this.env.accountId,
    });
    if (!outcome.allowed) {
      const denied = this.deniedRequest(principal, authorization, outcome.decision);
      this.record(
        'eventbridge-delivery',
        'SendMessage',
        denied,
        outcome.decision,
        accessDeniedMessage('sqs', denied),
      );
    }
    return outcome;
  }

  authorizeFunctionUrlRequest(request: {
    readonly functionArn: string;
    readonly url: string;
    readonly headers: IncomingServiceRequest['headers'];
  }): RequestOutcome {
    const authType = this.options.policies.functionUrlAuthTypes.get(request.functionArn) ?? 'AWS_IAM';
    let caller: KnownCaller | CallerPrincipal = { kind: 'anonymous' };
    if (authType === 'AWS_IAM') {
      const identity = signingIdentity(request.headers, request.url);
      const known =
        identity.kind === 'signed' ? this.options.credentials.resolve(identity.accessKeyId) : undefined;
      if (known === undefined) {
        const reason = identity.kind === 'signed' ? 'unknown-access-key' : 'unsigned';
        return this.refuseUrl(
          reason,
          identity.kind === 'signed' ? identity.accessKeyId : 'anonymous',
          request.functionArn,
        );
      }
      caller = known;
    }
    if (caller.kind === 'administrator') return { allowed: true, caller };
    const outcome = this.authorize(caller, functionUrlAuthorizations(request.functionArn, authType));
    if (outcome.allowed) return { allowed: true, caller, operation: 'InvokeFunctionUrl' };
    const denied = this.deniedRequest(caller, outcome.authorization, outcome.decision);
    const denial = this.record(
      'lambda-url',
      'InvokeFunctionUrl',
      denied,
      outcome.decision,
      accessDeniedMessage('dynamodb', denied),
    );
    return { allowed: false, response: functionUrlForbiddenResponse(), denial };
  }

  private map(service: ProxiedService, request: IncomingServiceRequest): MappedRequest | undefined {
    if (service === 's3') return mapS3Request(request);
    const body = JSON.parse(
      request.body === undefined || request.body === '' ? '{}' : request.body,
    ) as Record<string, unknown>;
    const target = header(request.headers, 'x-amz-target');
    if (service === 'dynamodb') return mapDynamoDbRequest(target, body, this.env);
    if (service === 'sqs') return mapSqsRequest(target, body, this.env);
    return mapEventBridgeRequest(target, body, this.env);
  }

  /** The resource's own policy; objects use their bucket's, indexes their table's, qualified functions the function's. */
  private resourcePolicyOf(resource: string): readonly PolicyStatement[] {
    const policies = this.options.policies.resourcePolicies;
    const direct = policies.get(resource);
    if (direct) return direct;
    const parent = resource.startsWith('arn:aws:s3:::')
      ? resource.replace(/^(arn:aws:s3:::[^/]+)\/.*$/, '$1')
      : resource.startsWith('arn:aws:dynamodb:')
        ? resource.replace(/^(arn:aws:dynamodb:[^:]*:[^:]*:table\/[^/]+)\/.*$/, '$1')
        : resource.replace(/^(arn:aws:lambda:[^:]*:[^:]*:function:[^:]+):.*$/, '$1');
    return policies.get(parent) ?? [];
  }

  private principalContext(principal: CallerPrincipal): ConditionContext {
    const now = (this.options.clock ?? (() => new Date()))();
    const common = {
      // Locally the engines speak plain HTTP on loopback; on AWS the SDK always uses HTTPS.
      'aws:SecureTransport': 'true',
      'aws:CurrentTime': now.toISOString(),
      'aws:EpochTime': String(Math.floor(now.getTime() / 1000)),
      'aws:RequestedRegion': this.env.region,
    };
    if (principal.kind === 'service') return { ...common, 'aws:PrincipalServiceName': principal.service };
    if (principal.kind === 'anonymous') return { ...common, 'aws:PrincipalType': 'Anonymous' };
    const roleId = this.rolesByArn.get(principal.roleArn)?.roleId ?? 'AROAUNKNOWN';
    return {
      ...common,
      'aws:PrincipalArn': principal.roleArn,
      'aws:PrincipalAccount': principal.accountId,
      'aws:PrincipalType': 'AssumedRole',
      'aws:userid': `${roleId}:${principal.sessionName}`,
    };
  }

  private deniedRequest(
    principal: CallerPrincipal,
    authorization: AuthorizationRequest,
    decision: Extract<Decision, { allowed: false }>,
  ) {
    return {
      principal: principalName(principal),
      action: authorization.action,
      resource: authorization.resource,
      reason: decision.reason,
      hasIdentityPolicies: principal.kind === 'role-session',
    };
  }

  private record(
    channel: string,
    operation: string,
    denied: ReturnType<LocalIamAuthorizer['deniedRequest']>,
    decision: Extract<Decision, { allowed: false }>,
    message: string,
  ): DenialRecord {
    const record: DenialRecord = {
      at: new Date(),
      channel,
      operation,
      principal: denied.principal,
      action: denied.action,
      resource: denied.resource,
      reason: decision.reason,
      statement: decision.statement?.origin,
      message,
    };
    this.denials.record(record);
    return record;
  }

  private refuse(
    channel: string,
    reason: 'unsigned' | 'unknown-access-key' | 'unmapped-operation' | 'unreadable-request',
    response: HttpResponse,
    message: string,
    principal = 'anonymous',
    operation = '',
  ): RequestOutcome {
    const denial: DenialRecord = {
      at: new Date(),
      channel,
      operation,
      principal,
      action: operation === '' ? '' : `${channel}:${operation}`,
      resource: '',
      reason,
      message,
    };
    this.denials.record(denial);
    return { allowed: false, response, denial };
  }

  private refuseUrl(
    reason: 'unsigned' | 'unknown-access-key',
    principal: string,
    functionArn: string,
  ): RequestOutcome {
    const denial: DenialRecord = {
      at: new Date(),
      channel: 'lambda-url',
      operation: 'InvokeFunctionUrl',
      principal,
      action: 'lambda:InvokeFunctionUrl',
      resource: functionArn,
      reason,
      message: 'Forbidden',
    };
    this.denials.record(denial);
    return { allowed: false, response: functionUrlForbiddenResponse(), denial };
  }
}

function header(headers: IncomingServiceRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : value?.[0];
}

function operationName(service: ProxiedService, request: IncomingServiceRequest): string {
  if (service === 's3') return `${request.method} ${request.url.split('?', 1)[0]}`;
  return header(request.headers, 'x-amz-target')?.split('.').pop() ?? 'unknown operation';
}
