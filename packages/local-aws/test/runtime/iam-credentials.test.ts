/** The credentials each function runs with, and what a function without a template role may do. */
import { describe, expect, it } from 'vitest';
import { CredentialRegistry, createIamAuthorizer, readTemplatePolicies } from '../../src/iam';
import { issueCredentials } from '../../src/runtime/iam';
import { iamFixtureTemplate } from '../fixtures/stack/iam-template';

const ACCOUNT = '000000000000';

function policiesOf(template: Record<string, unknown>) {
  return readTemplatePolicies(template, {
    // The resolver of the runtime would give local ARNs; the roles' own statements are what counts here.
    resolve: () => `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Orders`,
    accountId: ACCOUNT,
    region: 'us-east-1',
  });
}

describe('issueCredentials', () => {
  it('gives each function a session of its execution role named after the function, as Lambda does', () => {
    // Arrange
    const registry = new CredentialRegistry({ accountId: ACCOUNT });
    const policies = policiesOf(iamFixtureTemplate());

    // Act
    const credentials = issueCredentials({ functions: [{ logicalId: 'Granted' }] }, policies, registry);

    // Assert
    const keys = credentials.get('Granted');
    expect(registry.resolve(keys?.accessKeyId ?? '')).toMatchObject({
      kind: 'role-session',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/GrantedRole/Granted`,
    });
    expect(keys?.sessionToken).toMatch(/^local\//);
  });

  it('gives a function whose role is not in the template credentials that are allowed nothing', () => {
    // Arrange
    const registry = new CredentialRegistry({ accountId: ACCOUNT });
    const policies = policiesOf(iamFixtureTemplate());
    const authorizer = createIamAuthorizer({ policies, credentials: registry, tableKeys: () => undefined });

    // Act
    const credentials = issueCredentials({ functions: [{ logicalId: 'Stray' }] }, policies, registry);
    const caller = registry.resolve(credentials.get('Stray')?.accessKeyId ?? '');
    const outcome =
      caller?.kind === 'role-session'
        ? authorizer.authorize(caller, [
            {
              action: 'dynamodb:GetItem',
              resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Orders`,
              context: {},
            },
          ])
        : undefined;

    // Assert
    expect(caller).toMatchObject({
      kind: 'role-session',
      roleName: 'local-aws-no-role',
      sessionName: 'Stray',
    });
    expect(outcome).toMatchObject({ allowed: false, decision: { reason: 'implicit-deny' } });
  });
});
