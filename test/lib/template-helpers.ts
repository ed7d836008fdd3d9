import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { Policy } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { OutboxRelay } from '../../lib/constructs/outbox-relay';
import { IdempotencyTable, OutboxTable } from '../../lib/constructs/outbox-table';

/** One statement of an IAM policy document, as synthesized. */
export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/**
 * A stack whose functions are not bundled: construct tests check wiring and validation,
 * and skipping esbuild keeps them fast. The full stack test bundles for real.
 */
export function newUnbundledStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'TestStack');
}

/** Table, idempotency table, bus and relay: what every consumer construct needs around it. */
export function pipelineBase(stack: Stack) {
  const { table } = new OutboxTable(stack, 'OutboxTable');
  const { table: idempotencyTable } = new IdempotencyTable(stack, 'IdempotencyTable');
  const eventBus = new EventBus(stack, 'EventBus');
  const relay = new OutboxRelay(stack, 'Relay', { table, eventBus });
  return { table, idempotencyTable, eventBus, relay };
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

/** Statements of the default policy of a function's execution role. */
export function roleStatements(template: Template, fn: IFunction): PolicyStatement[] {
  const policy = fn.role?.node.tryFindChild('DefaultPolicy') as Policy | undefined;
  if (policy === undefined) throw new Error(`${fn.node.path} has no role default policy`);
  const resource = template.toJSON().Resources[logicalId(policy)];
  return resource.Properties.PolicyDocument.Statement as PolicyStatement[];
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
