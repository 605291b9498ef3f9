import { BwriteError, classifyError, errorCode } from '../errors.js';
import type { FailureLine } from '../store/failure-rows.js';
import { isShared } from '../store/index-db.js';
import type { Store } from '../store/store.js';
import { asError, type AlsoCounted, type ItemResult, type SubmitOptions, type WriteItem } from './batch-items.js';
import type { FailureEntry, FailureLog } from './failure-log.js';

// A batch's failure entries: recorded in the index inside its transaction (rule 5 in store.ts),
// appended to the failures file after its COMMIT, and shared with an overlapping --resume run.

/** What one commit recorded, inside its transaction. */
export interface Recorded {
  results: ItemResult[];
  alsoCounted: AlsoCounted;
  failures: FailureEntry[];
  lines: FailureLine[];
}

/**
 * Inside the batch's transaction: its failure entries (reader failures first), numbered and kept
 * in the index until they are in the failures file. A reader failure at a record an overlapping
 * run committed (one that ends by the byte offset `committedBefore`) is that run's: left out, and
 * counted as skipped. `numberedAfter`: the last number taken by a batch before it in the same
 * transaction.
 */
export function recordFailures(store: Store, runId: string, log: FailureLog | null, options: SubmitOptions, results: ItemResult[], committedBefore: number, numberedAfter?: number): Recorded {
  const given = options.readerFailures ?? [];
  const readerFailures = given.filter((entry) => !isShared(entry.end, committedBefore));
  const alsoCounted = sharedAside(options.alsoCounted, given.length - readerFailures.length);
  const failures = [...readerFailures, ...(options.itemFailures?.(results) ?? [])];
  const lines = log?.prepare(failures, numberedAfter) ?? [];
  store.failureRows.insert(runId, lines);
  return { results, alsoCounted, failures, lines };
}

/** Under --resume, a failed item at a record an overlapping run committed meanwhile is that run's: skipped here. */
export function shareOut(results: ItemResult[], items: readonly WriteItem[], committedBefore: number): ItemResult[] {
  if (committedBefore === 0) return results;
  return results.map((result, i) => {
    if (!result.failed || !isShared(items[i]?.end, committedBefore)) return result;
    return { key: result.key, outcome: 'skipped', failed: false, sha256: result.sha256, size: result.size, attempts: result.attempts, durationMs: result.durationMs };
  });
}

/**
 * After COMMIT: appends the committed entries while holding the index's write lock, and only while
 * the run is still marked running. A process that completes the files of crashed runs marks the run
 * crashed under that lock first, so an entry is never appended by both. Whatever is not appended
 * stays in the index, for the next import or gc to complete the file from. Returns the error that
 * must stop the run, if any (a busy index only leaves the entries for later).
 */
export function appendCommitted(store: Store, runId: string, log: FailureLog, lines: readonly FailureLine[]): Error | null {
  try {
    store.index.inTransaction(() => {
      if (!store.runs.isRunning(runId)) throw new BwriteError('E_LEASE_LOST', `run ${runId} was taken for crashed (its lease expired) by another process, which completes its failures file`);
      log.append(lines);
    });
    return null;
  } catch (error) {
    log.complete = false;
    if (classifyError(error) === 'transient') return null;
    return new BwriteError(errorCode(error), `cannot write the failures file ${log.path}: ${asError(error).message}`, { cause: error });
  }
}

/** The aside counts with `sharedOut` reader failures counted as skipped: an overlapping run committed their records. */
function sharedAside(counted: AlsoCounted | undefined, sharedOut: number): AlsoCounted {
  const { read, skipped, failed } = counted ?? { read: 0, skipped: 0, failed: 0 };
  return { read, skipped: skipped + sharedOut, failed: failed - sharedOut };
}
