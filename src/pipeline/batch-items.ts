import type { GroupLimits } from './commit-queue.js';
import { BwriteError, errorCode } from '../errors.js';
import type { ConflictMode, NewerGuard, Watermark } from '../store/index-db.js';
import type { FailureEntry, FailureLog } from './failure-log.js';
import type { RunLease } from '../store/run-lease.js';
import type { RetryPolicy } from './retry.js';

// What goes in and out of a BatchWriter: items, their results (a failure is a value, with the
// same shape as a success), and the options of a batch and of the writer.

export interface WriteItem {
  key: string;
  value: string | Uint8Array;
  type?: string;
  source?: string | null;
  line?: number | null;
  /** Byte offset just past the record in its input: under `shareInput`, how another run's records are told. */
  end?: number | null;
  /** The value's SHA-256 when the caller has it already (hashing then stays off the write path). */
  sha256?: string;
  /** Under `replace`: keep the stored value if it is newer than this record (see NewerGuard). */
  unlessNewer?: NewerGuard;
}

export type ItemOutcome = 'written' | 'skipped' | 'failed';

/** A failed item is a value, not an exception: the same shape as a success. */
export interface ItemResult {
  key: string;
  outcome: ItemOutcome;
  failed: boolean;
  sha256: string | null;
  size: number;
  attempts: number;
  durationMs: number;
  code?: string;
  error?: Error;
}

export interface BatchOutcome {
  results: ItemResult[];
  /** False when the run was aborted before this batch committed: none of it is stored. */
  committed: boolean;
  /** The batch's `alsoCounted` as committed: a reader failure at a line an overlapping run had committed counts as skipped. */
  alsoCounted: AlsoCounted;
  /** The failure entries that committed with the batch (reader failures first), as they went to the failures file. */
  failures: FailureEntry[];
}

/** Records of a batch's lines that never reached the writer: bad records, --resume skips. */
export interface AlsoCounted {
  read: number;
  skipped: number;
  failed: number;
}

export interface SubmitOptions {
  /** How far the batch's source is stored once it commits; saved in the same transaction. */
  watermark?: Watermark | null;
  /** Records of the batch's lines that never reached the writer (bad records, --resume skips), for the run's history. */
  alsoCounted?: AlsoCounted;
  /** The failure entries of those bad records (counted in `alsoCounted.failed`), recorded with the batch. */
  readerFailures?: FailureEntry[];
  /** The failure entries for the batch's failed items, given their final results (recorded with the batch). */
  itemFailures?: (results: ItemResult[]) => FailureEntry[];
  /** A store-wide setting saved in the batch's transaction (how far a copy has got). */
  setting?: { name: string; value: string } | null;
}

export interface SubmittedBatch {
  /** Resolves once every item of the batch holds or held a permit: the writer has taken it in. */
  admitted: Promise<void>;
  done: Promise<BatchOutcome>;
}

export interface BatchWriterOptions {
  /** The most value writes in flight at once, across all batches. */
  maxConcurrent?: number;
  /** Values of at most this many bytes are kept inside the index instead of a blob file. */
  inlineMax?: number;
  onConflict?: ConflictMode;
  retry?: Partial<RetryPolicy>;
  /**
   * The run this writer's batches belong to, registered and finished by the caller (the CLI's
   * import). Without it, the writer registers a run of its own (command `library`) on its first
   * batch, and `close()` (or the store's) finishes it.
   */
  lease?: RunLease;
  type?: string;
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
  /** Where the run's failure entries go: each commits in the index with its batch, then is appended here. */
  failures?: FailureLog | null;
  /**
   * `--resume`: overlapping runs share an input. A record that another run committed meanwhile
   * (its `end` at or before that run's watermark) is skipped, and a failure at it is that run's,
   * so no record is stored or failed twice.
   */
  shareInput?: boolean;
  /**
   * Aborting it (a signal) stops retries. An item whose retries it cut short is neither stored nor
   * failed: its batch and every later one do not commit (`committed: false`), so the input's
   * watermark stays before them and `--resume` reads them again.
   */
  signal?: AbortSignal;
  /**
   * Batches ready at once commit in one transaction, up to these limits (see CommitQueue); each
   * keeps its own watermark, failure entries and history counts as if it committed alone. A
   * submitter that waits for its batches calls `flushCommits`. Without it, one batch a transaction.
   */
  groupCommits?: GroupLimits | null;
}

export interface WriterStats {
  maxConcurrent: number;
  availablePermits: number;
  inFlight: number;
}

export function failedResult(key: string, code: string, error: Error, attempts: number, durationMs: number, prepared?: { sha256: string; bytes: Uint8Array }): ItemResult {
  return { key, outcome: 'failed', failed: true, sha256: prepared?.sha256 ?? null, size: prepared?.bytes.length ?? 0, attempts, durationMs, code, error };
}

export function abortedResult(key: string, fatal: Error): ItemResult {
  const error = new BwriteError('E_ABORTED', `not stored: the run stopped because the store failed (${fatal.message})`, { cause: fatal });
  return failedResult(key, 'E_ABORTED', error, 0, 0);
}

export function interruptedResult(key: string, cause: unknown, attempts: number, durationMs: number): ItemResult {
  const why = cause ? ` while retrying ${errorCode(cause)}` : '';
  const error = new BwriteError('E_INTERRUPTED', `not stored: the run was interrupted${why}; --resume imports it`, { cause });
  return failedResult(key, 'E_INTERRUPTED', error, attempts, durationMs);
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
