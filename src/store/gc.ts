import type { BlobStat, ListedBlob } from './backend.js';
import { mergeByDigest, type DigestVisitor } from './digest-merge.js';
import type { DigestRow } from './index-db.js';
import type { Store } from './store.js';
import { TotalsTally, typesOff } from './totals.js';

export interface GcReport {
  dryRun: boolean;
  removedBlobs: number;
  removedTempFiles: number;
  freedBytes: number;
  /** Unreferenced blobs kept because a run holding a lease now may be about to refer to them. */
  sparedBlobs: number;
  /** The running totals `stats` shows disagreed with the items and were counted again. */
  recountedTotals: boolean;
  /** Blobs an interrupted gc had set aside in tmp/, put back before anything else. */
  restoredBlobs: number;
}

// File times come from a coarse kernel clock that may lag the process clock by a tick.
const CLOCK_SLACK_MS = 50;
/** Blobs removed under one hold of the index's write lock, where removals need it. */
const REMOVAL_GROUP = 100;
/**
 * The setting gc moves on (to the time, and always forward) after each removal from object
 * storage, in the transaction that holds the write lock across it: a batch that read another
 * value before writing its blobs writes them again before it commits (`WriterRun.confirm`).
 */
export const BLOBS_REMOVED_AT = 'blobs_removed_at';

/**
 * The next mark after the current one: odd while a removal is under way (committed beside gc's
 * transaction, where the index can), even once it is recorded in that transaction. An odd mark a
 * batch finds while it holds the write lock was left by a gc that died mid-removal (`WriterRun`).
 */
export function nextRemovalMark(current: string | undefined, underWay: boolean): string {
  let next = Math.max(Date.now(), Number(current ?? 0) + 1);
  if ((next % 2 === 1) !== underWay) next++;
  return String(next);
}

export function removalUnderWay(mark: string | undefined): boolean {
  return Number(mark ?? 0) % 2 === 1;
}

/**
 * Removes blobs that no index row refers to, and leftover temporary files. Spares everything
 * modified since the oldest time a run with an unexpired lease protects (or since this gc
 * started): such a run writes or refreshes every blob it will refer to after that time (rule 3
 * in store.ts). Re-checks each blob after moving it aside, so a blob rewritten or refreshed
 * meanwhile is put back. Also repairs the running totals if `verify` would find them wrong.
 * The items in blob files and the blob files are read once, side by side (`mergeByDigest`):
 * memory does not grow with the store, except on object storage, where the unreferenced blobs
 * found are removed after the walk, in groups under the index's write lock (`removeUnderLock`).
 */
export async function collectGarbage(store: Store, options: { dryRun?: boolean } = {}): Promise<GcReport> {
  const dryRun = Boolean(options.dryRun);
  // First, so that no blob an index row names is judged missing or its copy removed as temporary.
  const restoredBlobs = dryRun ? 0 : store.blobs.restoreSetAside();
  const now = Date.now();
  const cutoff = Math.min(now, ...store.runs.protectedSince(now)) - CLOCK_SLACK_MS;
  const report: GcReport = { dryRun, removedBlobs: 0, removedTempFiles: 0, freedBytes: 0, sparedBlobs: 0, recountedTotals: false, restoredBlobs };
  const sweep = new BlobSweep(store, cutoff, report);
  // One read transaction: the running totals compared are of the items read.
  const { counted, running } = await store.index.inReadTransactionAsync(async () => {
    await mergeByDigest(store.index.iterateBlobRowsByDigest(), store.blobs.list(), sweep);
    sweep.counted.addCounts(store.index.inlineTotalsByType());
    return { counted: sweep.counted.types, running: store.index.runningTotals() };
  });
  await removeUnderLock(store, sweep.candidates, cutoff, report);
  for (const file of store.blobs.listTemp()) {
    // A blob another gc, running now, is re-checking: never a temporary file to remove.
    if (file.mtimeMs >= cutoff || file.setAside) continue;
    if (!dryRun) store.blobs.removeTemp(file);
    report.removedTempFiles++;
    report.freedBytes += file.size;
  }
  // Counted again (under the write lock) only where the items read disagree with the totals.
  if (!dryRun && typesOff(counted, running).length > 0) report.recountedTotals = store.index.recountTotals();
  return report;
}

/**
 * Object storage: no blob can be set aside and re-checked, so each group is removed inside one
 * write transaction of the index, where no batch commits: the group's digests are checked again to
 * be unreferenced there, removed, and the removal recorded (`BLOBS_REMOVED_AT`) before the lock
 * is given up. A batch that committed before saw its rows spare its blobs; one that commits after
 * finds the record moved since it read it before writing its blobs, and writes them again first.
 */
async function removeUnderLock(store: Store, candidates: Candidate[], cutoff: number, report: GcReport): Promise<void> {
  for (let start = 0; start < candidates.length; start += REMOVAL_GROUP) {
    const group = candidates.slice(start, start + REMOVAL_GROUP);
    let failure: unknown = null;
    await store.index.inTransactionAsync(async () => {
      const referenced = store.index.referencedDigests(group.map(({ blob }) => blob.digest));
      const unreferenced = group.filter(({ blob }) => !referenced.has(blob.digest));
      report.sparedBlobs += group.length - unreferenced.length;
      if (unreferenced.length === 0) return;
      // Said first, outside this transaction: a batch reading it later knows a removal may be under way, even if gc dies in it.
      store.index.writeSettingNow(BLOBS_REMOVED_AT, nextRemovalMark(store.index.readSetting(BLOBS_REMOVED_AT), true));
      try {
        await store.blobs.remove(unreferenced.map(({ blob }) => blob), cutoff);
        store.faults.afterRemoval();
        report.removedBlobs += unreferenced.length;
        for (const { stat } of unreferenced) report.freedBytes += stat.size;
      } catch (error) {
        failure = error;
      }
      // Recorded even when the removal failed part-way: some of the group may be gone.
      store.index.writeSettingInTransaction(BLOBS_REMOVED_AT, nextRemovalMark(store.index.readSetting(BLOBS_REMOVED_AT), false));
    });
    if (failure) throw failure;
  }
}

interface Candidate {
  blob: ListedBlob;
  stat: BlobStat;
}

/** gc's part of the walk: counts the items by type, removes each unreferenced blob old enough. */
class BlobSweep implements DigestVisitor {
  readonly counted = new TotalsTally();
  /** Where removals need the index's write lock: the unreferenced blobs old enough, removed after the walk. */
  readonly candidates: Candidate[] = [];

  constructor(
    private readonly store: Store,
    private readonly cutoff: number,
    private readonly report: GcReport,
  ) {}

  item(row: DigestRow): void {
    this.counted.add({ size: row.size, type: row.type, inline: row.inlineSize !== null });
  }

  async blob(file: ListedBlob, referenced: boolean): Promise<void> {
    if (referenced) return;
    const stat = file.stat ?? (await this.store.blobs.stat(file.digest));
    if (!stat) return;
    if (stat.mtimeMs >= this.cutoff) {
      this.report.sparedBlobs++;
      return;
    }
    if (!this.report.dryRun && this.store.blobs.removesUnderLock) {
      this.candidates.push({ blob: file, stat });
      return;
    }
    if (!this.report.dryRun && (await this.store.blobs.remove([file], this.cutoff)) === 0) {
      this.report.sparedBlobs++;
      return;
    }
    this.report.removedBlobs++;
    this.report.freedBytes += stat.size;
  }

  stray(): void {
    // Left for verify to report: only files gc recognises as blobs are ever removed.
  }
}
