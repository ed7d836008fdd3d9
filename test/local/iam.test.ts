import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { type LocalAws, startLocalAws } from 'local-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerConstructId } from '../../contract/consumer-name';
import { consumerItemPk, KEYS } from '../../contract/keys';
import { STACK_OUTPUTS } from '../../contract/stack-outputs';
import { synthesizeOutboxStack } from '../../local/pipeline';
import { OrderApiClient } from '../../tools/order-api/client';

/**
 * Least privilege, enforced locally: the runtime evaluates every call a function makes against
 * the template's IAM. A copy of the stack without one grant fails the way AWS would fail it, and a
 * consumer's role is refused outside its own key prefixes.
 */

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
type Statement = { Action: string | string[]; Effect: string; Resource: unknown };

/** Removes `action` from the IAM policies whose logical id starts with `owner`; returns how many statements lost it. */
function withoutGrant(template: Template, owner: string, action: string): number {
  let removed = 0;
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' || !id.startsWith(owner)) continue;
    const document = resource.Properties?.PolicyDocument as { Statement: Statement[] };
    document.Statement = document.Statement.flatMap((statement) => {
      const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
      if (!actions.includes(action)) return [statement];
      removed++;
      const rest = actions.filter((a) => a !== action);
      return rest.length > 0 ? [{ ...statement, Action: rest }] : [];
    });
  }
  return removed;
}

const functionId = (pipeline: LocalAws, prefix: string) => {
  const id = [...pipeline.functions.keys()].find((name) => name.startsWith(prefix));
  if (!id) throw new Error(`no function ${prefix}* in the stack`);
  return id;
};

describe('IAM on the local runtime', () => {
  let pipeline: LocalAws;
  let logDir: string;
  let removed: number;

  beforeAll(async () => {
    // Arrange: the stack as synthesized, minus the relay's events:PutEvents grant
    const synth = await synthesizeOutboxStack();
    const template = structuredClone(synth.template) as Template;
    removed = withoutGrant(template, 'RelayFunction', 'events:PutEvents');
    logDir = mkdtempSync(join(tmpdir(), 'outbox-iam-'));
    pipeline = await startLocalAws({ ...synth, template }, { logDir });
  });

  afterAll(async () => {
    await pipeline?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('fails the relay without its PutEvents grant with AccessDenied naming the action and the bus', async () => {
    // Act: an order through the API; the relay cannot put it on the bus
    const api = new OrderApiClient({
      baseUrl: pipeline.outputs[STACK_OUTPUTS.orderApiUrl] ?? '',
      region: pipeline.clientConfig.region,
      credentials: pipeline.iam.operatorCredentials,
    });
    const placed = await api.post('/orders', {
      customerId: 'c-1',
      lines: [{ sku: 'A', quantity: 1, unitPrice: 1 }],
    });
    const deadline = Date.now() + 30_000;
    while (
      !pipeline.iam.denials.entries.some((d) => d.action === 'events:PutEvents') &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // Assert
    expect(removed).toBe(1);
    expect(placed.status).toBe(201);
    const busArn = `arn:aws:events:${pipeline.clientConfig.region}:000000000000:event-bus/${pipeline.outputs[STACK_OUTPUTS.eventBusName]}`;
    const denial = pipeline.iam.denials.entries.find((d) => d.action === 'events:PutEvents');
    expect(denial).toMatchObject({ resource: busArn });
    expect(denial?.principal).toContain('Relay');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const relayLog = readFileSync(join(logDir, `${functionId(pipeline, 'RelayFunction')}.log`), 'utf8');
    expect(relayLog).toContain('AccessDeniedException');
    expect(relayLog).toContain('events:PutEvents');
    expect(relayLog).toContain(busArn);
  });

  it("refuses a consumer's write outside its own key prefix, also inside a transaction, and allows its own", async () => {
    // Arrange: a client with the order-activity function's own credentials, through the enforcing endpoint
    const consumer = functionId(pipeline, `${consumerConstructId('order-activity')}Function`);
    const credentials = pipeline.iam.credentialsOf(consumer);
    if (!credentials) throw new Error('IAM is off: no function credentials');
    const client = new DynamoDBClient({
      region: pipeline.clientConfig.region,
      endpoint: pipeline.iam.endpoints.dynamodb,
      credentials,
    });
    const table = pipeline.outputs[STACK_OUTPUTS.tableName] ?? '';
    const item = (pk: string) => marshall({ pk, sk: KEYS.viewSk, eventCount: 1 });

    // Act
    const [own, foreign, outbox, mixed] = await Promise.allSettled([
      client.send(
        new PutItemCommand({ TableName: table, Item: item(consumerItemPk('order-activity', 'Order#o-1')) }),
      ),
      client.send(
        new PutItemCommand({ TableName: table, Item: item(consumerItemPk('order-projection', 'Order#o-1')) }),
      ),
      client.send(
        new PutItemCommand({
          TableName: table,
          Item: marshall({ pk: 'Order#o-1', sk: 'OUTBOX#000000000009', entityType: 'OUTBOX' }),
        }),
      ),
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: table, Item: item(consumerItemPk('order-activity', 'Order#o-2')) } },
            { Put: { TableName: table, Item: item('Order#o-2') } },
          ],
        }),
      ),
    ]);

    // Assert
    expect(own.status).toBe('fulfilled');
    const tableArn = `arn:aws:dynamodb:${pipeline.clientConfig.region}:000000000000:table/${table}`;
    for (const refused of [foreign, outbox, mixed]) {
      const reason = refused.status === 'rejected' ? (refused.reason as Error) : undefined;
      expect(reason?.name).toBe('AccessDeniedException');
      expect(reason?.message).toMatch(/dynamodb:PutItem/);
      expect(reason?.message).toContain(tableArn);
    }
    client.destroy();
  });
});
