import { mergeByDigest, type DigestVisitor } from './digest-merge.js';
import type { DigestRow } from './index-db.js';
import type { BlobName } from './scan.js';
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

/**
 * Removes blobs that no index row refers to, and leftover temporary files. Spares everything
 * modified since the oldest time a run with an unexpired lease protects (or since this gc
 * started): such a run writes or refreshes every blob it will refer to after that time (rule 3
 * in store.ts). Re-checks each blob after moving it aside, so a blob rewritten or refreshed
 * meanwhile is put back. Also repairs the running totals if `verify` would find them wrong.
 * The items in blob files and the blob files are read once, side by side (`mergeByDigest`):
 * memory does not grow with the store.
 */
export function collectGarbage(store: Store, options: { dryRun?: boolean } = {}): GcReport {
  const dryRun = Boolean(options.dryRun);
  // First, so that no blob an index row names is judged missing or its copy removed as temporary.
  const restoredBlobs = dryRun ? 0 : store.blobs.restoreSetAside();
  const now = Date.now();
  const cutoff = Math.min(now, ...store.runs.protectedSince(now)) - CLOCK_SLACK_MS;
  const report: GcReport = { dryRun, removedBlobs: 0, removedTempFiles: 0, freedBytes: 0, sparedBlobs: 0, recountedTotals: false, restoredBlobs };
  const sweep = new BlobSweep(store, cutoff, report);
  // One read transaction: the running totals compared are of the items read.
  const { counted, running } = store.index.inReadTransaction(() => {
    mergeByDigest(store.index.iterateBlobRowsByDigest(), store.blobs.list(), sweep);
    sweep.counted.addCounts(store.index.inlineTotalsByType());
    return { counted: sweep.counted.types, running: store.index.runningTotals() };
  });
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

/** gc's part of the walk: counts the items by type, removes each unreferenced blob old enough. */
class BlobSweep implements DigestVisitor {
  readonly counted = new TotalsTally();

  constructor(
    private readonly store: Store,
    private readonly cutoff: number,
    private readonly report: GcReport,
  ) {}

  item(row: DigestRow): void {
    this.counted.add({ size: row.size, type: row.type, inline: row.inlineSize !== null });
  }

  blob(file: BlobName, referenced: boolean): void {
    if (referenced) return;
    const stat = this.store.blobs.stat(file.digest);
    if (!stat) return;
    if (stat.mtimeMs >= this.cutoff || (!this.report.dryRun && !this.store.blobs.removeUnlessTouchedSince(file, this.cutoff))) {
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
