/** Every refusal the IAM emulation made, for reports (counts per principal and action). */
import type { DenialReason } from './evaluate';

/** One refused request. */
export interface DenialRecord {
  readonly at: Date;
  /** `dynamodb`, `sqs`, `events`, `s3`, `lambda-url`, `eventbridge-delivery`. */
  readonly channel: string;
  readonly operation: string;
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  /** Why: an evaluation result, or what went wrong before evaluation. */
  readonly reason:
    | DenialReason
    | 'unknown-access-key'
    | 'unsigned'
    | 'unmapped-operation'
    | 'unreadable-request';
  /** The statement that denied explicitly (`<policy>#<index>`), if any. */
  readonly statement?: string;
  readonly message: string;
}

/** Counts of denials grouped by principal and action. */
export interface DenialCount {
  readonly principal: string;
  readonly action: string;
  readonly count: number;
}

const KEPT = 1_000;

/** Keeps the last 1000 denials and counts all of them. */
export class DenialLog {
  private readonly recent: DenialRecord[] = [];
  private readonly counts = new Map<string, DenialCount>();
  private totalCount = 0;

  constructor(private readonly onDenial?: (record: DenialRecord) => void) {}

  record(record: DenialRecord): void {
    this.totalCount++;
    this.recent.push(record);
    if (this.recent.length > KEPT) this.recent.shift();
    const key = `${record.principal}\u0000${record.action}`;
    const count = this.counts.get(key)?.count ?? 0;
    this.counts.set(key, { principal: record.principal, action: record.action, count: count + 1 });
    this.onDenial?.(record);
  }

  /** Number of denials since start (or the last clear). */
  get total(): number {
    return this.totalCount;
  }

  /** The most recent denials, oldest first (at most 1000). */
  get entries(): readonly DenialRecord[] {
    return this.recent;
  }

  /** Denials per principal and action, most frequent first. */
  summary(): DenialCount[] {
    return [...this.counts.values()].sort(
      (a, b) => b.count - a.count || a.principal.localeCompare(b.principal),
    );
  }

  clear(): void {
    this.recent.length = 0;
    this.counts.clear();
    this.totalCount = 0;
  }
}
