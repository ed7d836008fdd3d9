import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import type { LocalAws, ObservedInvocation } from 'local-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_OUTPUTS } from '../../contract/stack-outputs';
import { xrayTraceId } from '../../functions/shared/trace';
import { traceOrder } from '../../local/demo/trace';
import { startOutboxPipeline } from '../../local/pipeline';
import { OrderApiClient } from '../../tools/order-api/client';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_ID = xrayTraceId(TRACEPARENT) ?? '';

/** One trace from the API request to each consumer's effect, on the whole local pipeline. */
describe('one trace from request to effect', () => {
  let pipeline: LocalAws;
  let logDir: string;
  const deliveries: Array<{ functionId: string; header: string | undefined; body: string }> = [];
  let orderId = '';

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'outbox-trace-'));
    pipeline = await startOutboxPipeline({
      logDir,
      observe: (invocation: ObservedInvocation) => {
        if (invocation.mapping.source.kind !== 'sqs') return;
        for (const record of (invocation.event as SQSEvent).Records) {
          deliveries.push({
            functionId: invocation.mapping.functionLogicalId,
            header: record.attributes.AWSTraceHeader,
            body: record.body,
          });
        }
      },
    });
    const api = new OrderApiClient({
      baseUrl: pipeline.outputs[STACK_OUTPUTS.orderApiUrl] ?? '',
      region: pipeline.clientConfig.region,
      credentials: pipeline.iam.operatorCredentials,
    });
    const placed = await api.post(
      '/orders',
      { customerId: 'c-trace', lines: [{ sku: 'A', quantity: 1, unitPrice: 1 }] },
      { traceparent: TRACEPARENT },
    );
    orderId = (placed.body as { orderId: string }).orderId;
    await pipeline.drain(30_000);
  });

  afterAll(async () => {
    await pipeline?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  const logLines = (prefix: string) => {
    const file = readdirSync(logDir).find((name) => name.startsWith(prefix));
    if (!file) throw new Error(`no log of ${prefix}*`);
    return readFileSync(join(logDir, file), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  it("continues the caller's traceparent in the API's log line for the command", () => {
    // Act
    const committed = logLines('OrderApiFunction').find((line) => line.message === 'command committed');

    // Assert
    expect(committed).toMatchObject({ orderId, traceparent: TRACEPARENT });
  });

  it("carries the trace to every consumer's messages as AWSTraceHeader, from the relay's entries", () => {
    // Act
    const ours = deliveries.filter((delivery) => delivery.body.includes(orderId));

    // Assert: the FIFO consumer (the relay's SendMessageBatch) and the unordered one (PutEvents → rule → SQS)
    const consumers = [...new Set(ours.map((delivery) => delivery.functionId))];
    for (const example of ['OrderProjectionFunction', 'OrderActivityFunction']) {
      expect(
        consumers.some((id) => id.startsWith(example)),
        example,
      ).toBe(true);
    }
    for (const delivery of ours) expect(delivery.header).toContain(`Root=${TRACE_ID}`);
  });

  it("puts the traceparent in each consumer's log line for the event, and never the payload", () => {
    for (const prefix of ['OrderProjectionFunction', 'OrderActivityFunction']) {
      // Act
      const lines = logLines(prefix).filter((line) => String(line.aggregate ?? '').endsWith(orderId));

      // Assert
      expect(lines.length, prefix).toBeGreaterThan(0);
      for (const line of lines)
        expect(line, prefix).toMatchObject({ traceparent: TRACEPARENT, xray_trace_id: TRACE_ID });
      expect(JSON.stringify(lines)).not.toContain('c-trace');
    }
  });

  it('shows the order’s path, API → each consumer, with timings', () => {
    // Act
    const trace = traceOrder(logDir, orderId);

    // Assert
    expect(trace.events).toHaveLength(1);
    const [event] = trace.events;
    expect(event?.traceparent).toBe(TRACEPARENT);
    expect(event?.steps.map((step) => step.what)).toEqual(
      expect.arrayContaining(['committed', 'queued', 'applied']),
    );
    expect(
      event?.steps
        .filter((step) => step.what === 'applied')
        .map((step) => step.service)
        .sort(),
    ).toEqual(expect.arrayContaining(['order-activity', 'order-projection']));
    expect(event?.steps[0]?.what).toBe('committed');
  });
});
