import { BwriteError } from '../errors.js';
import { BLOBS_REMOVED_AT, nextRemovalMark, removalUnderWay } from '../store/gc.js';
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
   * Where gc removes under the index's lock (object storage): the record of gc's last removal
   * (`BLOBS_REMOVED_AT`) as each batch last read it before writing its blobs.
   */
  private readonly removalSeen = new WeakMap<LeaseHold, string | undefined>();

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
    const hold = (await withRetry(() => lease.begin(), policy, hooks)).value;
    if (this.store.blobs.removesUnderLock) this.removalSeen.set(hold, this.store.index.readSetting(BLOBS_REMOVED_AT));
    return hold;
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
  async commit<T>(batches: readonly { hold: LeaseHold; blobs: readonly BlobWritten[] }[], commit: () => Promise<T>): Promise<T> {
    const lease = this.lease();
    for (;;) {
      const epoch = lease.secure();
      this.closeDeadRemoval();
      for (const { hold, blobs } of batches) {
        const removal = this.removalNow(hold);
        if (hold.epoch === epoch && removal === undefined) continue;
        await this.refresh(blobs);
        hold.epoch = epoch;
        if (removal !== undefined) this.removalSeen.set(hold, removal);
      }
      try {
        return await commit();
      } catch (error) {
        if (!(error instanceof LeaseLapsedError) && !(error instanceof BlobsRemovedError)) throw error;
      }
    }
  }

  /**
   * Inside the batch's transaction: throws LeaseLapsedError, rolling it back, if the lease is at
   * risk; or BlobsRemovedError if gc removed objects since the batch last read its record, before
   * writing its blobs: gc writes the record under this same lock once its removal is done (gc.ts),
   * so blobs written after reading a record are safe from every removal up to it. No clock is
   * compared, so no host's clock matters here.
   */
  confirm(hold: LeaseHold): void {
    this.lease().confirm(hold);
    if (this.removalNow(hold) !== undefined) throw new BlobsRemovedError();
  }

  /**
   * The record of gc's last removal if it moved since the batch read it, or says a removal is
   * under way; undefined if not (or blobs are local).
   */
  private removalNow(hold: LeaseHold): string | undefined {
    if (!this.store.blobs.removesUnderLock) return undefined;
    const now = this.store.index.readSetting(BLOBS_REMOVED_AT);
    return now !== this.removalSeen.get(hold) || removalUnderWay(now) ? now : undefined;
  }

  /**
   * A removal still under way when this process holds the write lock is one whose gc died in it
   * (a live gc holds the lock until it records the end): some of its objects may be gone. The
   * record is closed, so that the batches, having written their blobs again after it, can commit.
   */
  private closeDeadRemoval(): void {
    if (!this.store.blobs.removesUnderLock || !removalUnderWay(this.store.index.readSetting(BLOBS_REMOVED_AT))) return;
    const index = this.store.index;
    index.inTransaction(() => {
      const mark = index.readSetting(BLOBS_REMOVED_AT);
      if (removalUnderWay(mark)) index.writeSettingInTransaction(BLOBS_REMOVED_AT, nextRemovalMark(mark, false));
    });
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
