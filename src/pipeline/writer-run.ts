import { BwriteError } from '../errors.js';
import { blobsRemovedAt } from '../store/gc.js';
import type { LeaseHold, RunLease } from '../store/run-lease.js';
import { LeaseLapsedError } from '../store/run-lease.js';
import { newRunId, type RunTotals } from '../store/run-log.js';
import type { Store } from '../store/store.js';
import { withRetry, type RetryHooks, type RetryPolicy } from './retry.js';

/** A value a batch wrote to a blob file, kept until the batch commits in case it must be refreshed. */
export interface BlobWritten {
  sha256: string;
  bytes: Uint8Array;
}

/**
 * Thrown inside a batch's transaction when gc removed blobs from object storage after the batch's
 * blobs were written: the transaction rolls back, and the batch writes its blobs again first.
 */
class BlobsRemovedError extends BwriteError {
  constructor() {
    super('E_BLOBS_REMOVED', 'gc removed blobs after this batch wrote its own; they are written again');
  }
}

/**
 * The run a BatchWriter's batches belong to, and each batch's hold on that run's lease (rule 3 in
 * store.ts): the lease given by the caller (the CLI's import), or the writer's own, a run of
 * command `library` registered on its first batch.
 */
export class WriterRun {
  private readonly store: Store;
  private readonly given: RunLease | undefined;
  private readonly totals: () => RunTotals;
  private own: RunLease | null = null;
  /**
   * Where gc removes under the index's lock (object storage): when each batch's blobs were last
   * written or found there, if later than its hold's start; batches gc may have robbed are marked.
   */
  private readonly written = new WeakMap<LeaseHold, number>();
  private readonly robbed = new WeakSet<LeaseHold>();

  constructor(store: Store, given: RunLease | undefined, totals: () => RunTotals) {
    this.store = store;
    this.given = given;
    this.totals = totals;
  }

  get runId(): string {
    return this.lease().runId;
  }

  /** A batch's hold, taken before it writes any blob; may register or resume the run (an index write, retried). */
  async hold(policy: RetryPolicy, hooks: RetryHooks): Promise<LeaseHold> {
    const lease = this.lease();
    return (await withRetry(() => lease.begin(), policy, hooks)).value;
  }

  release(hold: LeaseHold): void {
    this.lease().end(hold);
  }

  /**
   * Runs `commit` (the transaction of one batch, or of several that commit together, which calls
   * `confirm` for each just before COMMIT) under the lease. After a lapse each batch's blobs are
   * refreshed first, written again if gc removed them; a transaction that found the lease at risk
   * rolled back, and is tried again the same way; so is one that found gc removed blobs since
   * the batch's were written (`confirm`), after writing them again.
   */
  async commit<T>(batches: readonly { hold: LeaseHold; blobs: readonly BlobWritten[] }[], commit: () => T): Promise<T> {
    const lease = this.lease();
    for (;;) {
      const epoch = lease.secure();
      for (const { hold, blobs } of batches) {
        if (hold.epoch === epoch && !this.robbed.has(hold)) continue;
        const started = Date.now();
        await this.refresh(blobs);
        hold.epoch = epoch;
        this.robbed.delete(hold);
        this.written.set(hold, started);
      }
      try {
        return commit();
      } catch (error) {
        if (!(error instanceof LeaseLapsedError) && !(error instanceof BlobsRemovedError)) throw error;
      }
    }
  }

  /**
   * Inside the batch's transaction: throws LeaseLapsedError, rolling it back, if the lease is at
   * risk; or BlobsRemovedError if gc removed objects since the batch's blobs were written (gc.ts
   * records when, under this same lock; the slack is the hosts' clock agreement rule 3 assumes).
   */
  confirm(hold: LeaseHold): void {
    this.lease().confirm(hold);
    if (!this.store.blobs.removesUnderLock) return;
    const written = this.written.get(hold) ?? hold.since;
    if (blobsRemovedAt(this.store) + this.store.leaseMs / 4 >= written) {
      this.robbed.add(hold);
      throw new BlobsRemovedError();
    }
  }

  /** Finishes the writer's own run with its totals; a lease given by the caller is left to it. */
  async close(policy: RetryPolicy): Promise<void> {
    const own = this.own;
    if (own) await withRetry(() => own.finish(this.totals()), policy);
  }

  private lease(): RunLease {
    if (this.given) return this.given;
    if (!this.own) {
      const now = Date.now();
      this.own = this.store.newRun({ runId: newRunId(now), command: 'library', startedAt: now, sources: [] }, { pauseWith: this.totals });
    }
    return this.own;
  }

  private async refresh(blobs: readonly BlobWritten[]): Promise<void> {
    for (const blob of blobs) await this.store.blobs.refresh(blob.sha256, blob.bytes);
    await this.store.blobs.flushDirectories();
  }
}
