/**
 * Step 3 of start-up (unless `iam: false`): the template's IAM, enforced as AWS
 * enforces it. Reads every role and resource policy (`src/iam`), refuses to start
 * on a policy it cannot read faithfully, starts an enforcing proxy in front of
 * each engine, and hands each function credentials of its own execution role,
 * pointed at the proxies. Event source mappings poll, and write their on-failure
 * destinations, with their function's credentials through the proxies; the
 * EventBridge emulator checks queue policies before sending; Function URLs and
 * schedules check the function's resource policy. The runtime's own clients
 * (resource creation, drain, the CLI, tests with `clientConfig`) keep the operator
 * key `local`, which is allowed everything.
 *
 * With `iam: false` every call goes straight to the engines with the operator key,
 * as before IAM existed locally: for debugging only.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS } from '../engines/dynamodb-local';
import { LocalS3Client } from '../engines/s3-client';
import type { DeliveryAuthorizer } from '../eventbridge/delivery';
import {
  assertNoPolicyErrors,
  type CfnTemplate,
  CredentialRegistry,
  createIamAuthorizer,
  type DenialCount,
  DenialLog,
  type DenialRecord,
  type IamAuthorizer,
  type IamProxy,
  type LocalCredentials,
  type PolicyIssue,
  type ProxiedService,
  readTableKeys,
  readTemplatePolicies,
  startIamProxy,
  type TemplatePolicies,
} from '../iam';
import { queueUrlBehindProxy } from '../iam/sqs-queue-urls';
import type { FunctionUrlAuthorizer } from '../lambda/function-url-server';
import type { LocalQueue } from '../resources';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalResource, resolveValue } from '../template/intrinsics';
import type { Topology } from '../template/topology';
import type { Engines } from './engines';
import type { StopList } from './stop-list';

/** Where calls go: the IAM proxies, or the engines themselves when IAM is off. */
export interface ServiceEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly s3: string;
  readonly eventbridge: string;
}

/** The IAM side of a running local stack, as `LocalAws.iam` shows it. */
export interface LocalIam {
  /** False only with `iam: false` (debugging): then nothing is checked. */
  readonly enabled: boolean;
  /** Every refusal: `summary()` counts per principal and action, `entries` are the last 1000. */
  readonly denials: {
    summary(): DenialCount[];
    readonly entries: readonly DenialRecord[];
    readonly total: number;
  };
  /** The operator key (`local`, the same as `LOCAL_CREDENTIALS` and `clientConfig`): allowed everything. */
  readonly operatorCredentials: LocalCredentials;
  /**
   * The enforcing endpoints the functions use (the engines' own when IAM is off). A client here
   * with a function's credentials acts as that function; `LocalAws.endpoints` stay the engines'.
   */
  readonly endpoints: ServiceEndpoints;
  /** Warnings about the template's policies (errors stop start-up with an IamTemplateError). */
  readonly issues: readonly PolicyIssue[];
  /** The credentials a function runs with (its execution role's session); undefined when IAM is off. */
  credentialsOf(functionLogicalId: string): LocalCredentials | undefined;
}

/** What the rest of start-up takes from the IAM step. */
export interface RuntimeIam {
  readonly view: LocalIam;
  /** What a function's environment adds: its keys and the endpoints it calls. */
  functionEnvironment(functionLogicalId: string): Record<string, string>;
  /** The resources as a function resolves them: queue URLs that lead to the SQS proxy. */
  readonly functionResources: ReadonlyMap<string, LocalResource>;
  /** The clients a mapping of the function polls and writes destinations with. */
  mappingClients(functionLogicalId: string): {
    readonly sqs: SQSClient;
    readonly streams: DynamoDBStreamsClient;
    readonly s3: LocalS3Client;
  };
  /** Checks Function URL requests of the function; undefined lets everything through. */
  functionUrlAuthorizer(functionLogicalId: string): FunctionUrlAuthorizer | undefined;
  /** Why EventBridge may not invoke the function for the scheduled rule; undefined when it may. */
  scheduleRefusal(functionLogicalId: string, ruleArn: string): string | undefined;
}

const OPERATOR: LocalCredentials = {
  accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
  secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
};

/** A copy per caller: SDK clients annotate the credentials object they are given. */
const operatorCredentials = (): LocalCredentials => ({ ...OPERATOR });

/** What the IAM step needs from the steps before it. */
export interface IamInputs {
  readonly template: CfnTemplate;
  readonly topology: Topology;
  readonly resources: ReadonlyMap<string, LocalResource>;
  readonly queues: ReadonlyArray<LocalQueue>;
  readonly engines: Engines;
  readonly log: (message: string) => void;
}

/**
 * Sets up IAM for the stack, or the pass-through of `iam: false`.
 * @throws IamTemplateError when a policy cannot be emulated faithfully (nothing is proxied yet)
 */
export async function startIam(enabled: boolean, inputs: IamInputs, stops: StopList): Promise<RuntimeIam> {
  if (!enabled) return passThrough(inputs.engines, inputs.resources);
  const { template, resources, engines, log } = inputs;
  const policies = readTemplatePolicies(template, {
    resolve: (value, where) => resolveValue(value, resources, where),
    accountId: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
  });
  assertNoPolicyErrors(policies);
  for (const issue of policies.issues) log(`IAM ${issue.severity}: ${issue.where}: ${issue.message}`);
  const registry = new CredentialRegistry({ accountId: LOCAL_ACCOUNT });
  const authorizer = createIamAuthorizer({
    policies,
    credentials: registry,
    tableKeys: readTableKeys(template),
    onDenial: firstDenialLogger(log),
  });
  const proxies = await startProxies(authorizer, engines, stops);
  engines.eventBus.setDeliveryAuthorizer(deliveryAuthorizer(authorizer));
  stops.add(async () => engines.eventBus.setDeliveryAuthorizer(undefined));
  const credentials = issueCredentials(inputs.topology, policies, registry);
  return enforcing({ ...inputs, policies, authorizer, proxies, credentials }, stops);
}

/** Logs the first denial of each principal, action and resource; the others are only counted. */
function firstDenialLogger(log: (message: string) => void): (record: DenialRecord) => void {
  const seen = new Set<string>();
  return (record) => {
    const key = `${record.principal}\u0000${record.action}\u0000${record.resource}`;
    if (seen.has(key) || seen.size >= 10_000) return;
    seen.add(key);
    log(`IAM denied (${record.reason}; repeats are counted in iam.denials): ${record.message}`);
  };
}

interface Proxies {
  readonly dynamodb: IamProxy;
  /** Stream reads: straight to DynamoDB Local, never through the fault proxy (whose draws they would shift). */
  readonly streams: IamProxy;
  readonly sqs: IamProxy;
  readonly events: IamProxy;
  readonly s3: IamProxy;
}

/** Starts the proxies; each one is added to `stops` as soon as it runs. */
async function startProxies(authorizer: IamAuthorizer, engines: Engines, stops: StopList): Promise<Proxies> {
  const faulty = engines.dynamoFaults?.endpoint;
  const wanted: Array<[keyof Proxies, ProxiedService, string]> = [
    ['dynamodb', 'dynamodb', faulty ?? engines.dynamo.endpoint],
    ['sqs', 'sqs', engines.sqsEngine.endpoint],
    ['events', 'events', engines.eventBus.endpoint],
    ['s3', 's3', engines.s3.endpoint],
  ];
  if (faulty !== undefined) wanted.push(['streams', 'dynamodb', engines.dynamo.endpoint]);
  // Settled, not Promise.all: a proxy that starts after another one failed must still be stopped.
  const started = await Promise.allSettled(
    wanted.map(([, service, upstream]) => startIamProxy({ service, upstream, authorizer })),
  );
  for (const result of started) {
    if (result.status === 'fulfilled') {
      const proxy = result.value;
      stops.add(() => proxy.stop());
    }
  }
  const byName = new Map<string, IamProxy>();
  for (const [i, result] of started.entries()) {
    if (result.status === 'rejected') throw result.reason;
    byName.set(wanted[i]?.[0] ?? '', result.value);
  }
  const get = (name: keyof Proxies) => byName.get(name) as IamProxy;
  return {
    dynamodb: get('dynamodb'),
    streams: byName.get('streams') ?? get('dynamodb'),
    sqs: get('sqs'),
    events: get('events'),
    s3: get('s3'),
  };
}

/**
 * Each function's role session (`assumed-role/<role>/<function>`, as Lambda names it). A function
 * whose role is not in the template gets a session of a role with no policies: allowed nothing.
 * (`assertNoPolicyErrors` refuses such templates at start-up; this keeps the rule if it ever runs.)
 */
export function issueCredentials(
  topology: { readonly functions: ReadonlyArray<{ readonly logicalId: string }> },
  policies: Pick<TemplatePolicies, 'functionRoles' | 'accountId'>,
  registry: CredentialRegistry,
): Map<string, LocalCredentials> {
  const credentials = new Map<string, LocalCredentials>();
  for (const spec of topology.functions) {
    const role = policies.functionRoles.get(spec.logicalId) ?? {
      roleArn: `arn:aws:iam::${policies.accountId}:role/local-aws-no-role`,
      roleName: 'local-aws-no-role',
    };
    credentials.set(spec.logicalId, registry.issueRoleSession(role, spec.logicalId));
  }
  return credentials;
}

function deliveryAuthorizer(authorizer: IamAuthorizer): DeliveryAuthorizer {
  return (delivery) => {
    const outcome = authorizer.authorizeEventBridgeDelivery(delivery);
    return outcome.allowed ? undefined : outcome.message;
  };
}

/** The resources with every queue's `Ref` and `QueueUrl` on the SQS proxy's port. */
function resourcesBehindProxy(
  resources: ReadonlyMap<string, LocalResource>,
  queues: ReadonlyArray<LocalQueue>,
  sqsProxyPort: number,
): Map<string, LocalResource> {
  const view = new Map(resources);
  for (const queue of queues) {
    const url = queueUrlBehindProxy(queue.url, sqsProxyPort);
    view.set(queue.logicalId, { ref: url, attributes: { ...queue.attributes, QueueUrl: url } });
  }
  return view;
}

interface EnforcingParts extends IamInputs {
  readonly policies: TemplatePolicies;
  readonly authorizer: IamAuthorizer;
  readonly proxies: Proxies;
  readonly credentials: ReadonlyMap<string, LocalCredentials>;
}

function enforcing(parts: EnforcingParts, stops: StopList): RuntimeIam {
  const { proxies, credentials, authorizer, resources } = parts;
  const keysOf = (id: string): LocalCredentials => {
    const keys = credentials.get(id);
    if (keys === undefined)
      throw new Error(`function ${id} is not in the template, so it has no credentials`);
    return keys;
  };
  const functionArn = (id: string) =>
    resources.get(id)?.attributes.Arn ?? `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${id}`;
  const endpoints: ServiceEndpoints = {
    dynamodb: proxies.dynamodb.endpoint,
    sqs: proxies.sqs.endpoint,
    s3: proxies.s3.endpoint,
    eventbridge: proxies.events.endpoint,
  };
  const clients = mappingClientCache(keysOf, proxies, stops);
  return {
    view: {
      enabled: true,
      denials: authorizer.denials,
      get operatorCredentials() {
        return operatorCredentials();
      },
      endpoints,
      issues: parts.policies.issues,
      credentialsOf: (id) => credentials.get(id),
    },
    functionEnvironment: (id) => {
      const keys = keysOf(id);
      return {
        AWS_ACCESS_KEY_ID: keys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
        AWS_SESSION_TOKEN: keys.sessionToken ?? '',
        ...endpointVariables(endpoints),
      };
    },
    functionResources: resourcesBehindProxy(resources, parts.queues, proxies.sqs.port),
    mappingClients: clients,
    functionUrlAuthorizer: (id) => (request) => {
      const outcome = authorizer.authorizeFunctionUrlRequest({ functionArn: functionArn(id), ...request });
      return outcome.allowed ? undefined : outcome.response;
    },
    scheduleRefusal: (id, ruleArn) => scheduleRefusal(authorizer, functionArn(id), ruleArn),
  };
}

/** The SDK's standard per-service endpoint settings: the handler code is unchanged. */
function endpointVariables(endpoints: ServiceEndpoints): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    // An IP address, so the SDK addresses buckets path-style, which fauxqs serves.
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
  };
}

/** One set of clients per function, signed with its keys and pointed at the proxies; destroyed at stop. */
function mappingClientCache(
  keysOf: (id: string) => LocalCredentials,
  proxies: Proxies,
  stops: StopList,
): RuntimeIam['mappingClients'] {
  const cache = new Map<string, ReturnType<RuntimeIam['mappingClients']>>();
  stops.add(async () => {
    for (const clients of cache.values()) {
      clients.sqs.destroy();
      clients.streams.destroy();
    }
  });
  return (id) => {
    const cached = cache.get(id);
    if (cached !== undefined) return cached;
    const credentials = keysOf(id);
    const config = { region: LOCAL_REGION, credentials };
    const clients = {
      sqs: new SQSClient({ ...config, endpoint: proxies.sqs.endpoint }),
      streams: new DynamoDBStreamsClient({ ...config, endpoint: proxies.streams.endpoint }),
      s3: new LocalS3Client(proxies.s3.endpoint, {
        accessKeyId: credentials.accessKeyId,
        region: LOCAL_REGION,
      }),
    };
    cache.set(id, clients);
    return clients;
  };
}

/**
 * A scheduled rule invokes its target as events.amazonaws.com with the rule as aws:SourceArn: only the
 * function's resource policy (AWS::Lambda::Permission) can allow it. A refusal is recorded as a denial.
 */
function scheduleRefusal(
  authorizer: IamAuthorizer,
  functionArn: string,
  ruleArn: string,
): string | undefined {
  const authorization = { action: 'lambda:InvokeFunction', resource: functionArn, context: {} };
  const outcome = authorizer.authorize(
    { kind: 'service', service: 'events.amazonaws.com' },
    [authorization],
    {
      'aws:SourceArn': ruleArn,
      'aws:SourceAccount': LOCAL_ACCOUNT,
    },
  );
  if (outcome.allowed) return undefined;
  authorizer.denials.record({
    at: new Date(),
    channel: 'eventbridge-schedule',
    operation: 'Invoke',
    principal: 'events.amazonaws.com',
    action: authorization.action,
    resource: functionArn,
    reason: outcome.decision.reason,
    statement: outcome.decision.statement?.origin,
    message: outcome.message,
  });
  return outcome.message;
}

/** `iam: false`: the engines' own endpoints and the operator key everywhere, nothing checked. */
function passThrough(engines: Engines, resources: ReadonlyMap<string, LocalResource>): RuntimeIam {
  const endpoints: ServiceEndpoints = {
    dynamodb: engines.dynamoFaults?.endpoint ?? engines.dynamo.endpoint,
    sqs: engines.sqsEngine.endpoint,
    s3: engines.s3.endpoint,
    eventbridge: engines.eventBus.endpoint,
  };
  const clients = { sqs: engines.sqs, streams: engines.streams, s3: engines.s3 };
  return {
    view: {
      enabled: false,
      denials: new DenialLog(),
      get operatorCredentials() {
        return operatorCredentials();
      },
      endpoints,
      issues: [],
      credentialsOf: () => undefined,
    },
    functionEnvironment: () => ({
      AWS_ACCESS_KEY_ID: OPERATOR.accessKeyId,
      AWS_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
      ...endpointVariables(endpoints),
    }),
    functionResources: resources,
    mappingClients: () => clients,
    functionUrlAuthorizer: () => undefined,
    scheduleRefusal: () => undefined,
  };
}
