import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One step of an event's path, from the functions' logs. */
export interface TraceStep {
  readonly at: number;
  /** The function's logical id (the log file's name). */
  readonly functionId: string;
  readonly what: 'committed' | 'queued' | 'applied';
  /** Consumer steps: the service (consumer name) that logged it. */
  readonly service?: string;
}

/** One event of the order, and the steps it took. */
export interface TracedEvent {
  readonly eventId: string;
  readonly traceparent?: string;
  readonly sequence?: number;
  readonly eventType?: string;
  readonly steps: ReadonlyArray<TraceStep>;
}

/** An order's path: the API's commits and, per event, each consumer's queueing and effect. */
export interface OrderTrace {
  readonly orderId: string;
  readonly events: ReadonlyArray<TracedEvent>;
}

interface LogLine {
  readonly message?: string;
  readonly timestamp?: string;
  readonly service?: string;
  readonly orderId?: string;
  readonly eventIds?: string[];
  readonly eventId?: string;
  readonly eventType?: string;
  readonly sequence?: number;
  readonly traceparent?: string;
  readonly queuedAt?: string;
  readonly aggregate?: string;
}

/** The JSON log lines of every function log in `logDir`, by function logical id. */
function readLogs(logDir: string): Map<string, LogLine[]> {
  const logs = new Map<string, LogLine[]>();
  if (!existsSync(logDir)) return logs;
  for (const file of readdirSync(logDir).filter((name) => name.endsWith('.log'))) {
    const lines: LogLine[] = [];
    for (const text of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      if (!text.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        // A line cut off by a crash: not a trace step.
      }
    }
    logs.set(file.slice(0, -'.log'.length), lines);
  }
  return logs;
}

/**
 * Follows one order through the local pipeline's logs: the API's "command committed" lines (event
 * ids, traceparent), then each consumer's "event applied" line for those ids (when SQS got the
 * message, from the relay or EventBridge, and when the effect committed). Only ids, times and
 * trace context are read; no payload is in these lines.
 */
export function traceOrder(logDir: string, orderId: string): OrderTrace {
  const logs = readLogs(logDir);
  const events = new Map<
    string,
    { traceparent?: string; steps: TraceStep[]; sequence?: number; eventType?: string }
  >();
  for (const [functionId, lines] of logs) {
    for (const line of lines) {
      if (line.message !== 'command committed' || line.orderId !== orderId) continue;
      for (const eventId of line.eventIds ?? []) {
        events.set(eventId, {
          ...(line.traceparent ? { traceparent: line.traceparent } : {}),
          steps: [{ at: Date.parse(line.timestamp ?? ''), functionId, what: 'committed' }],
        });
      }
    }
  }
  for (const [functionId, lines] of logs) {
    for (const line of lines) {
      const event = line.eventId ? events.get(line.eventId) : undefined;
      if (!event || line.message !== 'event applied') continue;
      event.sequence ??= line.sequence;
      event.eventType ??= line.eventType;
      const service = line.service;
      if (line.queuedAt)
        event.steps.push({
          at: Date.parse(line.queuedAt),
          functionId,
          what: 'queued',
          ...(service ? { service } : {}),
        });
      event.steps.push({
        at: Date.parse(line.timestamp ?? ''),
        functionId,
        what: 'applied',
        ...(service ? { service } : {}),
      });
    }
  }
  return {
    orderId,
    events: [...events]
      .map(([eventId, event]) => ({ eventId, ...event, steps: [...event.steps].sort((a, b) => a.at - b.at) }))
      .sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0) || (a.steps[0]?.at ?? 0) - (b.steps[0]?.at ?? 0)),
  };
}

/** The trace as text: one block per event, each step with its time since the commit. */
export function renderTrace(trace: OrderTrace): string {
  if (trace.events.length === 0) return `No commit of order ${trace.orderId} in the logs.`;
  const lines = [`Order ${trace.orderId}`];
  for (const event of trace.events) {
    const start = event.steps[0]?.at ?? 0;
    lines.push(
      '',
      `  #${event.sequence ?? '?'} ${event.eventType ?? ''} ${event.eventId}`.trimEnd(),
      `     trace ${event.traceparent ?? '(none)'}`,
    );
    for (const step of event.steps) {
      const label =
        step.what === 'committed'
          ? `committed by the API (${step.functionId})`
          : step.what === 'queued'
            ? `queued for ${step.service ?? step.functionId} (relay → ${step.service ?? ''} queue)`
            : `applied by ${step.service ?? step.functionId}`;
      lines.push(`     +${String(step.at - start).padStart(6)} ms  ${label}`);
    }
  }
  return lines.join('\n');
}

/**
 * Per-aggregate order as the kit applied it, from each function's "event applied" lines: the
 * number of events applied after a later event of the same aggregate (by the line's time), per
 * function logical id. Unlike deliveries seen from outside, this counts what was applied, so an
 * event parked and applied later in its place is not a violation.
 */
export function appliedOrderViolations(logDir: string): Map<string, number> {
  const violations = new Map<string, number>();
  for (const [functionId, lines] of readLogs(logDir)) {
    const applied = lines
      .filter((line) => line.message === 'event applied' && typeof line.sequence === 'number')
      .map((line) => ({
        at: Date.parse(line.timestamp ?? ''),
        aggregate: String(line.aggregate),
        sequence: line.sequence as number,
      }))
      .sort((a, b) => a.at - b.at);
    const last = new Map<string, { at: number; sequence: number }>();
    let count = 0;
    for (const entry of applied) {
      const previous = last.get(entry.aggregate);
      if (previous && entry.sequence <= previous.sequence && entry.at > previous.at) count++;
      if (!previous || entry.sequence > previous.sequence) last.set(entry.aggregate, entry);
    }
    if (applied.length > 0) violations.set(functionId, count);
  }
  return violations;
}
