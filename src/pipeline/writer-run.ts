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
 * The run a BatchWriter's batches belong to, and each batch's hold on that run's lease (rule 3 in
 * store.ts): the lease given by the caller (the CLI's import), or the writer's own, a run of
 * command `library` registered on its first batch.
 */
export class WriterRun {
  private readonly store: Store;
  private readonly given: RunLease | undefined;
  private readonly totals: () => RunTotals;
  private own: RunLease | null = null;

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
   * rolled back, and is tried again the same way.
   */
  async commit<T>(batches: readonly { hold: LeaseHold; blobs: readonly BlobWritten[] }[], commit: () => T): Promise<T> {
    const lease = this.lease();
    for (;;) {
      const epoch = lease.secure();
      for (const { hold, blobs } of batches) {
        if (hold.epoch === epoch) continue;
        await this.refresh(blobs);
        hold.epoch = epoch;
      }
      try {
        return commit();
      } catch (error) {
        if (!(error instanceof LeaseLapsedError)) throw error;
      }
    }
  }

  /** Inside the batch's transaction: throws LeaseLapsedError, rolling it back, if the lease is at risk. */
  confirm(hold: LeaseHold): void {
    this.lease().confirm(hold);
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
