import type { CopyProblem } from '../store/copy-check.js';
import type { RetryPolicy } from './retry.js';

// What goes in and out of a copy: its options, its counts as batches commit, and its report.

export interface CopyOptions {
  /** Source items per batch; a batch's rows and the copy's progress commit in one transaction. */
  batchSize?: number;
  /** The most value writes (and source reads) in flight at once. */
  maxConcurrent?: number;
  /** Values up to this size are kept inside the destination's index, the rest in its blobs. */
  inlineMax?: number;
  retry?: Partial<RetryPolicy>;
  /** Aborting it stops the copy between two batches; what committed stays, and a rerun goes on from there. */
  signal?: AbortSignal;
  onProgress?: (counters: CopyCounters) => void;
  /** Each problem as it is found (all of them; the report lists the first LISTED_PROBLEMS). */
  onProblem?: (problem: CopyProblem) => void;
}

export interface CopyCounters {
  /** Source items this run went through, and their bytes. */
  read: number;
  readBytes: number;
  copied: number;
  /** Already in the destination with the same SHA-256, size and type. */
  skipped: number;
  /** Source values that could not be read, and items that could not be written. */
  failed: number;
  /** Bytes of the values copied. */
  bytes: number;
}

export interface CopyReport extends CopyCounters {
  status: 'ok' | 'partial' | 'aborted' | 'interrupted';
  runId: string;
  from: string;
  to: string;
  /** This run went on from where an interrupted copy of the same source stopped. */
  resumed: boolean;
  retries: number;
  /** What the check after the copy found; null when the copy did not get to the end. */
  verified: number | null;
  mismatched: number | null;
  extra: number | null;
  /** The first LISTED_PROBLEMS problems; `failed + mismatched` counts them all. */
  problems: CopyProblem[];
  durationMs: number;
  itemsPerSecond: number;
  /** Why the copy stopped early (the destination failed), or null. */
  error: string | null;
}

/** The report lists this many problems; the counts count them all. */
export const LISTED_PROBLEMS = 1000;

/**
 * Where a copy from one source has got to, kept in the destination (a setting named after the
 * source, saved in each batch's transaction): `after` is the last source key a committed batch
 * went through; null once a run went through to the end, so the next one starts from the first
 * key again (and leaves alone what is already there).
 */
export interface CopyMark {
  after: string | null;
}
