/**
 * The two halves of a store, as the rest of bwrite uses them: the index (`ItemIndex`; IndexDb is
 * the SQLite one) and the place values too large to keep inline go (`BlobBackend`; BlobStore is
 * the `blobs/` directory). gc, verify, stats, delete and the import command reach the store only
 * through these, so another engine is one more implementation of each. Every implementation keeps
 * the ordering rules at the top of store.ts.
 */
import type { BatchCommit, DigestRow, ItemEntry, RowOutcome, SavedWatermark } from './index-db.js';
import type { DeleteBatch } from './item-deletes.js';
import type { FailureLine, UnfinishedFailures } from './failure-rows.js';
import type { LeaseTerms, RunDelta, RunRecord, RunStart, RunTotals } from './run-log.js';
import type { BlobName, StrayEntry, TempFile } from './scan.js';
import type { Totals, TypeCounts, ValueCount } from './totals.js';

/** The index: items, running totals, watermarks, runs and their leases, failure entries. */
export interface ItemIndex {
  readonly runs: RunHistory;
  readonly failureRows: FailureEntries;

  /** A COMMIT leaves the main thread free while the index does it (PostgreSQL's worker): the reader may fill the next transaction meanwhile. */
  readonly commitsOffThread: boolean;

  /** Runs `apply` under the index's write lock, committing all it did or nothing. */
  inTransaction<T>(apply: () => T): T;
  /**
   * Batches' rows, totals, watermarks and settings (rule 4) in one write transaction, in order,
   * each as if it committed alone after the ones before it; `finish` runs for each inside the
   * transaction, before COMMIT. Settles once the COMMIT has. Where the index is a server
   * (PostgreSQL), the caller's thread goes on while it answers: a batch's commit overlaps the
   * parsing of the next.
   */
  commitBatches<T>(batches: readonly BatchCommit[], finish: (index: number, outcomes: RowOutcome[], committedBefore: number) => T): Promise<T[]>;
  /** Runs `read` on one consistent view of the index. */
  inReadTransaction<T>(read: () => T): T;
  /**
   * As `inTransaction`, with the write lock held across `apply`'s awaits (gc removing objects that
   * no batch may commit a row for meanwhile). Nothing else may use the index until it settles.
   * Where readers do not wait for writers (PostgreSQL), a batch's commit transaction must still
   * wait for this one to end before it reads a setting (gc's removal record): a lock both take.
   */
  inTransactionAsync<T>(apply: () => Promise<T>): Promise<T>;
  /** As `inReadTransaction`, one view held across `read`'s awaits (a walk beside a blob listing). */
  inReadTransactionAsync<T>(read: () => Promise<T>): Promise<T>;

  hasKey(key: string): boolean;
  getItem(key: string): ItemEntry | undefined;
  /** Items in bytewise key order, with their source and line, only keys that start with `prefix` and come after `after`. */
  iterateItems(prefix?: string, after?: string | null): IterableIterator<ItemEntry>;
  /** Items whose values are blobs, in digest order, without keys (`keyOfRow` finds one). */
  iterateBlobRowsByDigest(): IterableIterator<DigestRow>;
  /** Items whose values are inline, without their bytes. */
  iterateInlineRows(): IterableIterator<DigestRow>;
  /** Items whose values are inline, with their bytes. */
  iterateInline(): IterableIterator<ItemEntry>;
  inlineTotalsByType(): Map<string, TypeCounts>;
  keyOfRow(rowid: number): string | null;

  /** The running totals `stats` shows, by type. */
  runningTotals(): Map<string, TypeCounts>;
  /** Counts the running totals again from the items; true when they changed. */
  recountTotals(): boolean;
  /** The running totals and the kept count of distinct values (counted now when asked or cheap). */
  readTotals(options?: { recount?: boolean }): { totals: Totals; counted: ValueCount | null };
  /** Keeps a count of distinct values for the next `stats`, where this user may. */
  keepValueCount(count: ValueCount): void;

  getWatermark(name: string): SavedWatermark | undefined;

  /** A store-wide setting kept in the index (where the store's blobs are, for one); undefined if never set. */
  readSetting(name: string): string | undefined;
  /** Sets a store-wide setting, in a write transaction of its own. */
  writeSetting(name: string, value: string): void;
  /** Inside `inTransaction` or `inTransactionAsync`: sets a setting as part of that transaction. */
  writeSettingInTransaction(name: string, value: string): void;
  /**
   * Sets a setting at once, committed outside the transaction now open, where the engine can
   * (PostgreSQL: a second connection); false where it cannot (SQLite's one writer is that transaction).
   */
  writeSettingNow(name: string, value: string): boolean;
  /** Of these digests, those an item keeps its value in as a blob (gc's re-check before removing). */
  referencedDigests(digests: readonly string[]): Set<string>;

  /** Removing items, a batch per write transaction, with their share of the totals (rule 6). */
  itemDeletes(): ItemRemoval;
  /** The items whose keys start with `prefix`, and their bytes. */
  countPrefix(prefix: string): { items: number; bytes: number };

  /** Work beside a long import (the SQLite index copies its log on a worker thread); stopped as the import ends. */
  startBackgroundWork(durable: boolean): { stop(): Promise<void> };
  /** Housekeeping between runs (the SQLite index truncates its log). */
  checkpoint(): void;
  close(): void;
}

/** The history of runs and their leases (rule 3). */
export interface RunHistory {
  register(run: RunStart, lease: LeaseTerms): void;
  renew(runId: string, lease: LeaseTerms): boolean;
  isRunning(runId: string): boolean;
  markCrashed(runId: string, now?: number): boolean;
  /** Runs `write` waiting at most `ms` for another writer, not the usual timeout. */
  waitingAtMost<T>(ms: number, write: () => T): T;
  resume(runId: string, lease: LeaseTerms): void;
  addCommitted(runId: string, delta: RunDelta): void;
  finish(runId: string, totals: RunTotals): void;
  info(runId: string): { startedAt: number; sources: string[] } | null;
  countStoringSince(since: number, limit: number): number;
  list(limit?: number, now?: number): RunRecord[];
  protectedSince(now?: number): number[];
  /** Runs whose failures file may still change: alive now, or with entries kept (rule 5). */
  withFailuresPending(now?: number): { runId: string; failuresFile: string | null }[];
}

/** Failure entries kept in the index until they are in their run's failures file (rule 5). */
export interface FailureEntries {
  insert(runId: string, lines: readonly FailureLine[]): void;
  forget(runId: string): void;
  unfinished(now?: number): UnfinishedFailures[];
  entries(runId: string): FailureLine[];
}

export interface ItemRemoval {
  deleteKeys(keys: readonly string[], runId: string): DeleteBatch;
  deleteRange(prefix: string, after: string | null, limit: number, runId: string): DeleteBatch;
}

/** What gc and verify need to know of a blob. */
export interface BlobStat {
  size: number;
  /** When it was last written (object storage: its LastModified). */
  mtimeMs: number;
  /** A plain blob, not a link or a directory in its place. */
  isFile: boolean;
}

/** A blob as listed; object storage lists its size and time with it, sparing a request per blob. */
export type ListedBlob = BlobName & { stat?: BlobStat };

/** Content-addressed values (rules 1 and 2): named by their SHA-256, never overwritten with other bytes. */
/**
 * A batch also closes once its values reach this many bytes, so that large values do not make
 * batches of --batch-size records hold hundreds of megabytes (1 MB values: 500 MB a batch).
 */
export const BATCH_MAX_BYTES = 16 * 1024 * 1024;

export interface BlobBackend {
  /** Where the blobs are, as the store remembers it: `local` (its blobs/ directory) or an `s3://` URL. */
  readonly location: string;
  /**
   * The bytes of values at which a batch closes (BATCH_MAX_BYTES, or less): a batch holds its
   * values until it commits, to write them again if they must be refreshed.
   */
  readonly batchMaxBytes: number;
  /**
   * True where a removal cannot be re-checked after the fact (object storage has no rename to set
   * a blob aside): gc then removes in small groups under the index's write lock (gc.ts).
   */
  readonly removesUnderLock: boolean;
  /** Puts the bytes under their digest unless this process put them there since `freshSince`. */
  write(digest: string, bytes: Uint8Array, freshSince?: number): Promise<void>;
  /** Makes a blob fresh again for gc's grace, writing it again if it is gone. */
  refresh(digest: string, bytes: Uint8Array): Promise<void>;
  /** With --durable: what was written so far survives a power cut. */
  flushDirectories(): Promise<void>;
  /** A blob's bytes; a missing one throws an error with code ENOENT. */
  read(digest: string): Promise<Buffer>;
  /** Where a blob is, as messages name it. */
  locationOf(digest: string): string;
  stat(digest: string): Promise<BlobStat | null>;
  /** Every blob in digest order, and what is there that is not a blob, a page (a fan-out directory) at a time. */
  list(): AsyncIterator<ListedBlob | StrayEntry>;

  /**
   * gc: removes blobs unless touched at or after `cutoff`; returns how many went. The local
   * directory re-checks each after setting it aside; object storage removes them as they are,
   * which is why gc calls it under the index's write lock (`removesUnderLock`).
   */
  remove(blobs: readonly ListedBlob[], cutoff: number): Promise<number>;
  // The rest are the local directory's: object storage has no temporary files and sets nothing aside.
  /** gc and import: puts back blobs an interrupted gc set aside; how many. */
  restoreSetAside(): number;
  /** Digests of blobs an interrupted gc left set aside. */
  setAsideDigests(): Set<string>;
  /** Temporary files, set-aside blobs among them. */
  listTemp(): TempFile[];
  removeTemp(file: TempFile): void;
}

/**
 * What a place for values that is not a directory answers for the directory's own parts: it has
 * no temporary files and sets nothing aside (object storage; a PostgreSQL store without blobs).
 */
export abstract class WithoutLocalFiles {
  restoreSetAside(): number {
    return 0;
  }

  setAsideDigests(): Set<string> {
    return new Set();
  }

  listTemp(): TempFile[] {
    return [];
  }

  removeTemp(): void {}
}
