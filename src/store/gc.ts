import fs from 'node:fs';
import path from 'node:path';
import { mergeByDigest, type DigestVisitor } from './digest-merge.js';
import type { DigestRow } from './index-db.js';
import { listBlobFiles, scanTemp, statOf, type BlobName } from './scan.js';
import { isSetAside, restoreSetAside, setAsidePath } from './set-aside.js';
import type { Store } from './store.js';
import { repairTypeTotals, runningTypeTotals, TotalsTally, typesOff } from './totals.js';

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
  const restoredBlobs = dryRun ? 0 : restoreSetAside(store.layout);
  const now = Date.now();
  const cutoff = Math.min(now, ...store.runs.protectedSince(now)) - CLOCK_SLACK_MS;
  const report: GcReport = { dryRun, removedBlobs: 0, removedTempFiles: 0, freedBytes: 0, sparedBlobs: 0, recountedTotals: false, restoredBlobs };
  const sweep = new BlobSweep(store, cutoff, report);
  // One read transaction: the running totals compared are of the items read.
  const { counted, running } = store.index.db.transaction(() => {
    mergeByDigest(store.index.iterateBlobRowsByDigest(), listBlobFiles(store.layout), sweep);
    sweep.counted.addCounts(store.index.inlineTotalsByType());
    return { counted: sweep.counted.types, running: runningTypeTotals(store.index.db) };
  })();
  for (const file of scanTemp(store.layout)) {
    // A blob another gc, running now, is re-checking: never a temporary file to remove.
    if (file.mtimeMs >= cutoff || isSetAside(file.path)) continue;
    if (!dryRun) fs.rmSync(file.path, { force: true });
    report.removedTempFiles++;
    report.freedBytes += file.size;
  }
  // Counted again (under the write lock) only where the items read disagree with the totals.
  if (!dryRun && typesOff(counted, running).length > 0) report.recountedTotals = repairTypeTotals(store.index.db);
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
    const stat = statOf(file.path);
    if (!stat) return;
    if (stat.mtimeMs >= this.cutoff || (!this.report.dryRun && !removeAside(this.store, file.path, this.cutoff))) {
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

/**
 * Moves the blob into tmp/, then deletes it unless it was touched after the cutoff. Killed in
 * between, the blob waits in tmp/ under a name that says its digest: the next gc or import puts
 * it back (restoreSetAside), so it is never lost. Another process may put it back meanwhile.
 */
function removeAside(store: Store, blobFile: string, cutoff: number): boolean {
  const aside = setAsidePath(store.layout, path.basename(blobFile));
  try {
    fs.renameSync(blobFile, aside);
  } catch {
    return false;
  }
  let mtimeMs: number;
  try {
    mtimeMs = fs.lstatSync(aside).mtimeMs;
  } catch {
    return false;
  }
  if (mtimeMs >= cutoff) {
    try {
      fs.renameSync(aside, blobFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return false;
  }
  fs.rmSync(aside, { force: true });
  return true;
}
