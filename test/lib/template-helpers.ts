import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { Policy } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { PROJECT_ROOT } from '../../contract/project';
import { FailureBucket } from '../../lib/constructs/failure-bucket';
import { OutboxRelay } from '../../lib/constructs/outbox-relay';
import { IdempotencyTable, OutboxTable } from '../../lib/constructs/outbox-table';

/** One statement of an IAM policy document, as synthesized. */
export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** A resource of a synthesized template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DeletionPolicy?: string;
}

/** The value, or an error naming what was missing (in place of a non-null assertion). */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, found none`);
  return value;
}

/** What `act` throws; fails the test when it throws nothing. */
export function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but nothing was thrown');
}

/** The message of an error, or the value itself as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `context` of cdk.json (feature flags such as minimized IAM policies), so that test apps
 * synthesize the template `cdk synth` does.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/**
 * An app with the cdk.json context. Unbundled by default: construct and stack tests check wiring
 * and validation, and skipping esbuild keeps them fast; the full stack test bundles for real.
 */
export function newApp(options: { readonly bundle?: boolean } = {}): App {
  const bundling = options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] };
  return new App({ context: { ...cdkJsonContext(), ...bundling } });
}

/** An empty stack in an unbundled app. */
export function newUnbundledStack(): Stack {
  return new Stack(newApp(), 'TestStack');
}

/** Tables, bus, failure bucket and relay: what every consumer and the sweeper need around them. */
export function pipelineBase(stack: Stack) {
  const { table } = new OutboxTable(stack, 'OutboxTable');
  const { table: idempotencyTable } = new IdempotencyTable(stack, 'IdempotencyTable');
  const eventBus = new EventBus(stack, 'EventBus');
  const failureBucket = new FailureBucket(stack, 'FailureBucket');
  const relay = new OutboxRelay(stack, 'Relay', { table, eventBus, failureBucket });
  return { table, idempotencyTable, eventBus, failureBucket, relay };
}

/** The child `id` of `scope`, checked to be a `type`. */
export function childOf<T>(scope: IConstruct, id: string, type: abstract new (...args: never[]) => T): T {
  const found = scope.node.tryFindChild(id);
  if (!(found instanceof type)) {
    throw new Error(
      `expected ${scope.node.path}/${id} to be a ${type.name}, found ${found?.constructor.name}`,
    );
  }
  return found;
}

/** Logical ID of a construct's CloudFormation resource. */
export function logicalId(construct: IConstruct): string {
  const element = construct.node.defaultChild ?? construct;
  return Stack.of(construct).getLogicalId(element as CfnElement);
}

/** `{ 'Fn::GetAtt': [<logical id>, 'Arn'] }` of a construct, as it appears in the template. */
export function arnOf(construct: IConstruct): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [logicalId(construct), 'Arn'] };
}

/** `{ Ref: <logical id> }` of a construct, as it appears in the template. */
export function refOf(construct: IConstruct): { Ref: string } {
  return { Ref: logicalId(construct) };
}

/** Every resource of a template, by logical id. */
export function resourcesOf(template: Template): Record<string, TemplateResource> {
  return template.toJSON().Resources as Record<string, TemplateResource>;
}

/** Resources of one type, in template order. */
export function resourcesOfType(template: Template, type: string): TemplateResource[] {
  return Object.values(resourcesOf(template)).filter((resource) => resource.Type === type);
}

/** The template resource of a construct. */
export function resourceOf(template: Template, construct: IConstruct): TemplateResource {
  return defined(resourcesOf(template)[logicalId(construct)], `a resource for ${construct.node.path}`);
}

/** The properties of a construct's resource. */
export function propertiesOf(template: Template, construct: IConstruct): Record<string, unknown> {
  return resourceOf(template, construct).Properties ?? {};
}

/** The environment variables of a function. */
export function environmentOf(template: Template, fn: IFunction): Record<string, unknown> {
  const environment = propertiesOf(template, fn).Environment as
    | { Variables?: Record<string, unknown> }
    | undefined;
  return defined(environment?.Variables, `environment variables on ${fn.node.path}`);
}

/** Statements of the default policy of a function's execution role. */
export function roleStatements(template: Template, fn: IFunction): PolicyStatement[] {
  const policy = fn.role?.node.tryFindChild('DefaultPolicy') as Policy | undefined;
  if (policy === undefined) throw new Error(`${fn.node.path} has no role default policy`);
  const document = propertiesOf(template, policy).PolicyDocument as { Statement: PolicyStatement[] };
  return document.Statement;
}

/** Every action a set of statements allows. */
export function allowedActions(statements: PolicyStatement[]): string[] {
  return statements
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]));
}

/** Allow statements that grant `action`. */
export function statementsAllowing(statements: PolicyStatement[], action: string): PolicyStatement[] {
  return statements.filter((statement) => allowedActions([statement]).includes(action));
}
