import type { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type PolicyStatement, roleStatements } from './template-helpers';

/**
 * One allowed action on one resource, with the condition of its statement. Statements are
 * flattened to these so that tests do not depend on how CDK merges statements
 * (`@aws-cdk/aws-iam:minimizePolicies`).
 */
export interface Permission {
  readonly action: string;
  readonly resource: unknown;
  readonly condition?: unknown;
}

/** DynamoDB actions that write an item. */
export const ITEM_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/** DynamoDB actions that read a table's stream. */
export const STREAM_ACTIONS = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
] as const;

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** The permissions a set of Allow statements grants. */
export function permissionsIn(statements: PolicyStatement[]): Permission[] {
  return statements
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) =>
      asList(statement.Action).flatMap((action) =>
        asList(statement.Resource).map((resource) => ({
          action: String(action),
          resource,
          ...(statement.Condition === undefined ? {} : { condition: statement.Condition }),
        })),
      ),
    );
}

/** The permissions of a function's execution role. */
export function permissionsOf(template: Template, fn: IFunction): Permission[] {
  return permissionsIn(roleStatements(template, fn));
}

/** Whether two template values (ARNs, intrinsics) are the same. */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The permissions on one resource. */
export function permissionsOn(permissions: Permission[], resource: unknown): Permission[] {
  return permissions.filter((permission) => sameValue(permission.resource, resource));
}

/** The permissions whose action starts with `prefix` (e.g. `dynamodb:`). */
export function permissionsFor(permissions: Permission[], prefix: string): Permission[] {
  return permissions.filter((permission) => permission.action.startsWith(prefix));
}

/** Sorted, de-duplicated actions of some permissions. */
export function actionsOf(permissions: Permission[]): string[] {
  return [...new Set(permissions.map((permission) => permission.action))].sort();
}

/** The condition `grantItems` writes for `leadingKeys`. */
export function leadingKeysCondition(patterns: ReadonlyArray<string>): unknown {
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...patterns] } };
}

/** The `dynamodb:LeadingKeys` patterns of a permission, or undefined when it has no such condition. */
export function leadingKeysOf(permission: Permission): string[] | undefined {
  const condition = permission.condition as
    | { 'ForAllValues:StringLike'?: { 'dynamodb:LeadingKeys'?: string[] } }
    | undefined;
  return condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
}

/** Whether an IAM `StringLike` pattern (`*` and `?` wildcards) matches a value. */
export function matchesPattern(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((char) => {
      if (char === '*') return '.*';
      if (char === '?') return '.';
      return char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`).test(value);
}

/**
 * Whether the permissions let `action` touch the item with partition key `key` in the table:
 * an unconditioned permission does, a LeadingKeys one does when one of its patterns matches.
 */
export function allowsOnItem(
  permissions: Permission[],
  table: unknown,
  action: string,
  key: string,
): boolean {
  return permissionsOn(permissions, table)
    .filter((permission) => permission.action === action || permission.action === 'dynamodb:*')
    .some((permission) => {
      const patterns = leadingKeysOf(permission);
      return patterns === undefined || patterns.some((pattern) => matchesPattern(pattern, key));
    });
}

/** The write actions the permissions allow on the item with partition key `key`. */
export function writesOnItem(permissions: Permission[], table: unknown, key: string): string[] {
  return ITEM_WRITE_ACTIONS.filter((action) => allowsOnItem(permissions, table, action, key));
}
