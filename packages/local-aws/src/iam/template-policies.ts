/**
 * Reads the permissions of a synthesized CloudFormation template: each role's
 * identity-based statements (inline `Policies`, every `AWS::IAM::Policy` and
 * `AWS::IAM::ManagedPolicy` attached to it, known AWS managed policies), which
 * role each function runs as, and the resource-based policies of queues
 * (`AWS::SQS::QueuePolicy`), buckets (`AWS::S3::BucketPolicy`), tables
 * (`ResourcePolicy` of `AWS::DynamoDB::Table`) and functions
 * (`AWS::Lambda::Permission`, `AWS::Lambda::Url`).
 *
 * Values are resolved by the caller's resolver (the runtime's `resolveValue`
 * over its local resources); references to the template's own IAM roles and
 * managed policies are resolved here, since the runtime creates no IAM resources.
 */
import { createHash } from 'node:crypto';
import { readLambdaPermission } from './lambda-permission';
import { KNOWN_MANAGED_POLICIES } from './managed-policies';
import {
  IssueLog,
  type PolicyIssue,
  type PolicyStatement,
  readPolicyDocument,
  resolveOrMark,
  UNRESOLVED,
  type ValueResolver,
} from './policy-document';
import { queueArnFromUrl } from './requests/sqs';

/** The services whose requests the local runtime authorizes; statements about others are not read. */
export const ENFORCED_SERVICES: ReadonlySet<string> = new Set(['dynamodb', 'sqs', 'events', 's3', 'lambda']);

/** One IAM role of the template and everything its identity-based policies allow or deny. */
export interface RolePolicies {
  readonly logicalId: string;
  readonly roleName: string;
  readonly roleArn: string;
  /** `AROA…`, derived from the name: stable across runs, used in `aws:userid`. */
  readonly roleId: string;
  readonly statements: readonly PolicyStatement[];
  /** Managed policy ARNs attached to the role (known ones are part of `statements`). */
  readonly managedPolicyArns: readonly string[];
}

/** The permissions of a whole template, ready for {@link createIamAuthorizer}. */
export interface TemplatePolicies {
  readonly accountId: string;
  readonly region: string;
  /** By role logical id. */
  readonly roles: ReadonlyMap<string, RolePolicies>;
  /** Function logical id → its execution role. */
  readonly functionRoles: ReadonlyMap<string, RolePolicies>;
  /** Resource ARN (queue, function) or bucket ARN → statements of its resource-based policy. */
  readonly resourcePolicies: ReadonlyMap<string, readonly PolicyStatement[]>;
  /** Function ARN → the AuthType of its Function URL. */
  readonly functionUrlAuthTypes: ReadonlyMap<string, 'AWS_IAM' | 'NONE'>;
  /** What could not be read; `error`s mean local permissions may differ from AWS. */
  readonly issues: readonly PolicyIssue[];
}

/** Options of {@link readTemplatePolicies}. */
export interface ReadTemplatePoliciesOptions {
  /** Resolves template values to local names and ARNs (e.g. `(v, where) => resolveValue(v, resources, where)`). */
  readonly resolve: ValueResolver;
  readonly accountId: string;
  readonly region: string;
  /**
   * Policy documents of managed policies the template attaches by ARN.
   * @default the few AWS managed Lambda policies in `KNOWN_MANAGED_POLICIES`
   */
  readonly managedPolicies?: Readonly<Record<string, unknown>>;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** The part of a CloudFormation template this module reads. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
}

interface ReadContext {
  readonly resources: Readonly<Record<string, CfnResource>>;
  readonly resolve: ValueResolver;
  readonly log: IssueLog;
  readonly options: ReadTemplatePoliciesOptions;
}

interface IamValue {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Reads every permission of a template. Never throws on a readable template; see `issues`. */
export function readTemplatePolicies(
  template: CfnTemplate,
  options: ReadTemplatePoliciesOptions,
): TemplatePolicies {
  const resources = template.Resources ?? {};
  const log = new IssueLog();
  const iamValues = iamResourceValues(resources, options.accountId);
  const context: ReadContext = {
    resources,
    log,
    options,
    resolve: (value, where) => options.resolve(substituteIam(value, iamValues), where),
  };
  const roles = readRoles(context, iamValues);
  return {
    accountId: options.accountId,
    region: options.region,
    roles,
    functionRoles: readFunctionRoles(context, roles),
    resourcePolicies: readResourcePolicies(context),
    functionUrlAuthTypes: readFunctionUrls(context),
    issues: log.issues,
  };
}

function stringProperty(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `AROA` + 17 characters, like a real role id, derived from the role ARN. */
function roleIdOf(roleArn: string): string {
  return `AROA${createHash('sha256').update(roleArn).digest('hex').slice(0, 17).toUpperCase()}`;
}

function iamResourceValues(resources: Readonly<Record<string, CfnResource>>, accountId: string) {
  const values = new Map<string, IamValue>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    const p = resource.Properties ?? {};
    const path = stringProperty(p.Path) ?? '/';
    if (resource.Type === 'AWS::IAM::Role') {
      const name = stringProperty(p.RoleName) ?? logicalId;
      const arn = `arn:aws:iam::${accountId}:role${path}${name}`;
      values.set(logicalId, { ref: name, attributes: { Arn: arn, RoleId: roleIdOf(arn) } });
    } else if (resource.Type === 'AWS::IAM::ManagedPolicy') {
      const name = stringProperty(p.ManagedPolicyName) ?? logicalId;
      const arn = `arn:aws:iam::${accountId}:policy${path}${name}`;
      values.set(logicalId, { ref: arn, attributes: { PolicyArn: arn } });
    }
  }
  return values;
}

/** Replaces Ref/GetAtt/Fn::Sub references to the template's roles and managed policies by their values. */
function substituteIam(value: unknown, iam: ReadonlyMap<string, IamValue>): unknown {
  if (Array.isArray(value)) return value.map((item) => substituteIam(item, iam));
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return iam.get(v.Ref)?.ref ?? value;
  const getAtt = v['Fn::GetAtt'];
  if (getAtt !== undefined) {
    const [id, attribute] = Array.isArray(getAtt) ? getAtt.map(String) : String(getAtt).split('.');
    return iam.get(id ?? '')?.attributes[attribute ?? ''] ?? value;
  }
  const sub = v['Fn::Sub'];
  if (typeof sub === 'string' || Array.isArray(sub)) {
    const [text, variables] = typeof sub === 'string' ? [sub, undefined] : (sub as [unknown, unknown]);
    const replaced = String(text).replace(/\$\{([^}!][^}]*)\}/g, (whole, name: string) => {
      const [id, attribute] = name.split('.');
      const known = iam.get(id ?? '');
      if (!known) return whole;
      return attribute === undefined ? known.ref : (known.attributes[attribute] ?? whole);
    });
    return { 'Fn::Sub': variables === undefined ? replaced : [replaced, substituteIam(variables, iam)] };
  }
  return Object.fromEntries(Object.entries(v).map(([key, item]) => [key, substituteIam(item, iam)]));
}

function logicalIdsOf(list: unknown): string[] {
  return (Array.isArray(list) ? list : [list]).flatMap((entry) => {
    const ref = (entry as { Ref?: unknown } | null)?.Ref;
    return typeof ref === 'string' ? [ref] : typeof entry === 'string' ? [entry] : [];
  });
}

function readRoles(context: ReadContext, iam: ReadonlyMap<string, IamValue>): Map<string, RolePolicies> {
  const { resources, log, resolve } = context;
  const statements = new Map<string, PolicyStatement[]>();
  const managed = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const p = resource.Properties ?? {};
    statements.set(logicalId, []);
    byName.set(iam.get(logicalId)?.ref ?? logicalId, logicalId);
    for (const [i, inline] of ((p.Policies as Array<Record<string, unknown>>) ?? []).entries()) {
      const origin = `${logicalId}.Policies[${i}](${String(inline.PolicyName)})`;
      statements.get(logicalId)?.push(...read(context, inline.PolicyDocument, origin));
    }
    const arns = ((p.ManagedPolicyArns as unknown[]) ?? []).map((arn, i) =>
      resolveOrMark(arn, `${logicalId}.ManagedPolicyArns[${i}]`, resolve, log),
    );
    managed.set(logicalId, arns);
    if (p.PermissionsBoundary !== undefined)
      log.add(
        'warning',
        logicalId,
        'PermissionsBoundary is not emulated: only identity and resource policies count',
      );
  }
  attachPolicyResources(context, statements, managed, byName, iam);
  attachManagedPolicyArns(context, statements, managed, iam);
  const roles = new Map<string, RolePolicies>();
  for (const [logicalId, list] of statements) {
    const value = iam.get(logicalId);
    const roleArn = value?.attributes.Arn ?? UNRESOLVED;
    roles.set(logicalId, {
      logicalId,
      roleName: value?.ref ?? logicalId,
      roleArn,
      roleId: value?.attributes.RoleId ?? roleIdOf(roleArn),
      statements: list,
      managedPolicyArns: managed.get(logicalId) ?? [],
    });
  }
  return roles;
}

function read(context: ReadContext, document: unknown, origin: string): PolicyStatement[] {
  return readPolicyDocument(document, origin, context.resolve, context.log, ENFORCED_SERVICES);
}

/** AWS::IAM::Policy and AWS::IAM::ManagedPolicy with `Roles`: their statements join each listed role. */
function attachPolicyResources(
  context: ReadContext,
  statements: Map<string, PolicyStatement[]>,
  managed: Map<string, string[]>,
  byName: ReadonlyMap<string, string>,
  iam: ReadonlyMap<string, IamValue>,
) {
  for (const [logicalId, resource] of Object.entries(context.resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const p = resource.Properties ?? {};
    if (p.Users !== undefined || p.Groups !== undefined)
      context.log.add(
        'warning',
        logicalId,
        'policies of IAM users and groups are not read: only roles run locally',
      );
    const roleIds = logicalIdsOf(p.Roles ?? []).map((id) => (statements.has(id) ? id : byName.get(id)));
    const policy = roleIds.length > 0 ? read(context, p.PolicyDocument, logicalId) : [];
    for (const [i, roleId] of roleIds.entries()) {
      if (roleId === undefined) {
        context.log.add('error', `${logicalId}.Roles[${i}]`, 'names a role that is not in the template');
        continue;
      }
      statements.get(roleId)?.push(...policy);
      if (resource.Type === 'AWS::IAM::ManagedPolicy')
        managed.get(roleId)?.push(iam.get(logicalId)?.ref ?? logicalId);
    }
  }
}

/** ManagedPolicyArns: template managed policies (already attached via Roles or by ARN), known AWS ones, else an issue. */
function attachManagedPolicyArns(
  context: ReadContext,
  statements: Map<string, PolicyStatement[]>,
  managed: ReadonlyMap<string, string[]>,
  iam: ReadonlyMap<string, IamValue>,
) {
  const known = { ...KNOWN_MANAGED_POLICIES, ...context.options.managedPolicies };
  const templatePolicies = new Map<string, string>();
  for (const [logicalId, value] of iam)
    if (value.attributes.PolicyArn) templatePolicies.set(value.ref, logicalId);
  for (const [roleId, arns] of managed) {
    for (const arn of arns) {
      if (arn === UNRESOLVED || !arn.startsWith('arn:')) continue;
      const templateId = templatePolicies.get(arn);
      if (templateId !== undefined) {
        const document = context.resources[templateId]?.Properties?.PolicyDocument;
        const alreadyListed = logicalIdsOf(context.resources[templateId]?.Properties?.Roles ?? []).includes(
          roleId,
        );
        if (!alreadyListed) statements.get(roleId)?.push(...read(context, document, templateId));
      } else if (known[arn] !== undefined) {
        statements.get(roleId)?.push(...read(context, known[arn], arn));
      } else {
        context.log.add(
          'error',
          `${roleId}.ManagedPolicyArns`,
          `unknown managed policy ${arn}: it grants nothing locally (pass its document in managedPolicies)`,
        );
      }
    }
  }
}

function readFunctionRoles(context: ReadContext, roles: ReadonlyMap<string, RolePolicies>) {
  const functionRoles = new Map<string, RolePolicies>();
  for (const [logicalId, resource] of Object.entries(context.resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const role = resource.Properties?.Role;
    const getAtt = (role as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
    const roleId = Array.isArray(getAtt) ? String(getAtt[0]) : undefined;
    const found = roleId === undefined ? undefined : roles.get(roleId);
    if (found) functionRoles.set(logicalId, found);
    else
      context.log.add(
        'error',
        `${logicalId}.Role`,
        `is not Fn::GetAtt of a role in the template (given ${JSON.stringify(role)}): the function has no permissions locally`,
      );
  }
  return functionRoles;
}

function readResourcePolicies(context: ReadContext): Map<string, PolicyStatement[]> {
  const policies = new Map<string, PolicyStatement[]>();
  const add = (arn: string, statements: readonly PolicyStatement[]) => {
    if (arn === UNRESOLVED) return;
    policies.set(arn, [...(policies.get(arn) ?? []), ...statements]);
  };
  const { resources, resolve, log, options } = context;
  for (const [logicalId, resource] of Object.entries(resources)) {
    const p = resource.Properties ?? {};
    if (resource.Type === 'AWS::SQS::QueuePolicy') {
      const statements = read(context, p.PolicyDocument, logicalId);
      for (const [i, queue] of (Array.isArray(p.Queues) ? p.Queues : [p.Queues]).entries()) {
        const ref = (queue as { Ref?: unknown } | null)?.Ref;
        const where = `${logicalId}.Queues[${i}]`;
        const arn =
          typeof ref === 'string'
            ? resolveOrMark({ 'Fn::GetAtt': [ref, 'Arn'] }, where, resolve, log)
            : queueArnFromUrl(resolveOrMark(queue, where, resolve, log), options);
        add(arn, statements);
      }
    } else if (resource.Type === 'AWS::S3::BucketPolicy') {
      const bucket = resolveOrMark(p.Bucket, `${logicalId}.Bucket`, resolve, log);
      add(
        bucket === UNRESOLVED ? bucket : `arn:aws:s3:::${bucket}`,
        read(context, p.PolicyDocument, logicalId),
      );
    } else if (resource.Type === 'AWS::DynamoDB::Table' && p.ResourcePolicy !== undefined) {
      const document = (p.ResourcePolicy as { PolicyDocument?: unknown }).PolicyDocument;
      const arn = resolveOrMark(
        { 'Fn::GetAtt': [logicalId, 'Arn'] },
        `${logicalId}.ResourcePolicy`,
        resolve,
        log,
      );
      add(arn, read(context, document, `${logicalId}.ResourcePolicy`));
    } else if (resource.Type === 'AWS::Lambda::Permission') {
      const permission = readLambdaPermission(logicalId, p, context);
      if (permission) add(permission.functionArn, [permission.statement]);
    }
  }
  return policies;
}

/** Function ARN from a FunctionName / TargetFunctionArn value: an ARN, or a name in the local account. */
export function functionArnOf(value: string, where: { readonly region: string; readonly accountId: string }) {
  if (value === UNRESOLVED || value.startsWith('arn:')) return value;
  return `arn:aws:lambda:${where.region}:${where.accountId}:function:${value}`;
}

function readFunctionUrls(context: ReadContext): Map<string, 'AWS_IAM' | 'NONE'> {
  const urls = new Map<string, 'AWS_IAM' | 'NONE'>();
  for (const [logicalId, resource] of Object.entries(context.resources)) {
    if (resource.Type !== 'AWS::Lambda::Url') continue;
    const p = resource.Properties ?? {};
    const target = resolveOrMark(
      p.TargetFunctionArn,
      `${logicalId}.TargetFunctionArn`,
      context.resolve,
      context.log,
    );
    if (p.AuthType !== 'AWS_IAM' && p.AuthType !== 'NONE') {
      context.log.add(
        'error',
        `${logicalId}.AuthType`,
        `must be AWS_IAM or NONE (given ${JSON.stringify(p.AuthType)})`,
      );
      continue;
    }
    urls.set(functionArnOf(target, context.options), p.AuthType);
  }
  return urls;
}

/** Raised by {@link assertNoPolicyErrors} when a template's permissions cannot be read faithfully. */
export class IamTemplateError extends Error {
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(
      `the template's permissions cannot be emulated faithfully:\n${issues.map((i) => `  ${i.where}: ${i.message}`).join('\n')}`,
    );
    this.name = 'IamTemplateError';
  }
}

/** Throws an {@link IamTemplateError} listing every `error` issue; warnings pass. */
export function assertNoPolicyErrors(policies: TemplatePolicies): void {
  const errors = policies.issues.filter((issue) => issue.severity === 'error');
  if (errors.length > 0) throw new IamTemplateError(errors);
}
