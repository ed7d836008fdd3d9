import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { FailureSink, RelayTelemetry } from '../relay/ports';

/** The newest sweeper probe the relay has read from the stream. */
export interface Heartbeat {
  readonly seenSeq: number;
  /** When that probe was written (the sweeper's clock). */
  readonly seenWrittenAt: string;
}

/** A window of time whose stream records may have expired before the relay read them. */
export interface LostWindow {
  /** Commit times from here (inclusive)… */
  readonly from: string;
  /** …to here (exclusive); absent while the relay is still stopped. */
  readonly to?: string;
  /** Where the recovery scan stopped last run (opaque), absent before the first page. */
  readonly cursor?: string;
  readonly openedAt: string;
}

/** The relay bookkeeping items the sweeper reads and writes. */
export interface RelayBookkeeping {
  /** Writes the next probe; returns its sequence and when probes were first written. */
  writeProbe(now: Date): Promise<{ seq: number; firstWrittenAt: string }>;
  readHeartbeat(): Promise<Heartbeat | undefined>;
  readLostWindow(): Promise<LostWindow | undefined>;
  /** Writes the window, replacing the one stored. */
  saveLostWindow(window: LostWindow): Promise<void>;
  deleteLostWindow(): Promise<void>;
}

/** A batch the stream mapping discarded (S3 on-failure destination), or one the sweeper keeps retrying. */
export interface FailedBatch {
  readonly key: string;
  /** The stream records, as the relay received them. */
  readonly records: DynamoDBRecord[];
  /** When the batch first failed. */
  readonly firstFailedAt: string;
  /** Sweeps that already tried it. */
  readonly attempts: number;
}

/** The failure bucket: what the stream mapping discarded, and the sweeper's retries of it. */
export interface FailedBatchStore {
  /** The stored batches, oldest first (by when they first failed), at most `limit`. */
  list(limit: number): Promise<Array<{ readonly key: string; readonly firstFailedAt: string }>>;
  read(key: string): Promise<FailedBatch>;
  /** Keeps records for the next sweep (a retry object), with their attempt count. */
  keep(batch: Omit<FailedBatch, 'key'>): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Reads outbox items by commit time, page by page, for a lost window. */
export interface OutboxScanner {
  /** One page of outbox items committed in [from, to), and where to continue (absent at the end). */
  scan(
    from: string,
    to: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ items: Array<Record<string, unknown>>; cursor?: string }>;
}

/** Everything the sweeper talks to; `relay` is the same core the stream drives. */
export interface SweeperPorts {
  readonly bookkeeping: RelayBookkeeping;
  readonly failedBatches: FailedBatchStore;
  readonly scanner: OutboxScanner;
  readonly relay: { handle(records: ReadonlyArray<DynamoDBRecord>): Promise<DynamoDBBatchResponse> };
  readonly failures: FailureSink;
  readonly telemetry: Pick<RelayTelemetry, 'warn' | 'error'>;
}
