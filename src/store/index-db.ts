import Database from 'better-sqlite3';
import { BwriteError } from '../errors.js';
import type { ItemIndex } from './backend.js';
import { BackgroundCheckpoints } from './background-checkpoints.js';
import { FailureRows } from './failure-rows.js';
import { countRange, ItemDeletes } from './item-deletes.js';
import { openReadOnlyIndex, stampChanged, type FileStamp } from './read-only-index.js';
import { RunLog } from './run-log.js';
import { migrate } from './schema.js';
import { readTotals, repairTypeTotals, runningTypeTotals, saveValueCount, TotalsStatements, TotalsTally, type Totals, type TypeCounts, type ValueCount } from './totals.js';

export type ConflictMode = 'replace' | 'skip' | 'fail';

/** One item's index row, ready to commit: its value is already on disk (or inline here). */
export interface IndexRow {
  key: string;
  sha256: string;
  size: number;
  type: string;
  inline: Uint8Array | null;
  source: string | null;
  line: number | null;
  /** Byte offset just past the record in its input (not stored): how `shareInput` tells another run's records. */
  end?: number | null;
  /** Under `replace`, keep the stored value when it is newer than this record: outcome skipped. */
  unlessNewer?: NewerGuard | null;
}

/**
 * Where a record fed back by `bwrite retry` stands in time: the run that first read it (when it
 * started, the inputs it read in order) and its source and line there. A stored value is newer
 * when that same run stored it from a later position of its input, or another run stored it
 * after that run started — a later line of the file, or a later import, already replaced it.
 */
export interface NewerGuard {
  run: string;
  startedAt: number;
  sources: string[];
  source: string | null;
  line: number | null;
}

export function isNewer(old: { run_id: string | null; updated_at: number; source: string | null; line: number | null }, guard: NewerGuard): boolean {
  if (old.run_id !== guard.run) return old.updated_at >= guard.startedAt;
  const rank = (source: string | null) => (source === null ? -1 : guard.sources.indexOf(source));
  if (rank(old.source) !== rank(guard.source)) return rank(old.source) > rank(guard.source);
  return old.line !== null && guard.line !== null && old.line > guard.line;
}

export interface ItemEntry {
  key: string;
  sha256: string;
  size: number;
  type: string;
  inline: Buffer | null;
  /** Where the value came from (an input and its line), as `iterateItems` reads it: what `copy` carries over. */
  source?: string | null;
  line?: number | null;
}

/** An item as gc and verify read every one: without its key and bytes; `inlineSize` is null for a value in a blob file. */
export interface DigestRow {
  sha256: string;
  size: number;
  type: string;
  inlineSize: number | null;
  rowid: number;
}

/** How far a source's records are committed, without a gap: what `--resume` skips. */
export interface Watermark {
  name: string;
  dev: number | null;
  ino: number | null;
  fingerprint: string | null;
  fingerprintLen: number;
  line: number;
  /** Byte offset just past that line: a plain file shorter than this was truncated. */
  bytes: number;
  /** Records (failed ones too) from the input's first line to that line: `--resume` reading past them counts them. */
  records: number;
  /** An earlier watermark of this name that does not describe this input: this one replaces it. */
  supersedes?: WatermarkState | null;
}

/** A watermark as saved; `recordsCounted`: its `records` counts every record of the prefix (see RECORDS_COUNTED_SINCE). */
export type SavedWatermark = Watermark & { recordsCounted: boolean };

/**
 * Since when (ms, in `meta`, set by schema version 3's migration) this index's watermarks count
 * every record of their prefix: an older bwrite counted only those its own run read. A watermark
 * saved before then cannot tell `--resume` how many records it would read past, so that file is
 * read from the start until a run commits further and saves a watermark that counts them.
 */
const RECORDS_COUNTED_SINCE = 'watermark_records_since';

/** What tells one saved watermark from another. */
export type WatermarkState = Pick<Watermark, 'line' | 'bytes' | 'fingerprint'>;

export type RowOutcome = 'written' | 'skipped' | 'conflict';

/** One batch to commit: its rows in input order, and how far its input is then committed. */
export interface BatchCommit {
  rows: readonly IndexRow[];
  mode: ConflictMode;
  runId: string;
  watermark: Watermark | null;
  /**
   * `--resume`: records of this input that an overlapping run committed meanwhile (those that end
   * at or before the stored watermark's byte offset, when it describes the same input) are that
   * run's; rows of them are skipped. By offset, not line: JSON values may share a line.
   */
  shareInput?: boolean;
  /** A store-wide setting written in the batch's transaction: where a `copy` into this store has got to. */
  setting?: { name: string; value: string } | null;
}

export type StoredWatermark = Watermark & { startedAt: number | null };

export function isState(stored: Watermark, state: WatermarkState | null | undefined): boolean {
  return !!state && stored.line === state.line && stored.bytes === state.bytes && stored.fingerprint === state.fingerprint;
}

/**
 * Whether a stored watermark describes the input a batch was read from: the same file (device
 * and inode; null for standard input) with the same first bytes when both fingerprinted as many.
 */
export function sameInput(stored: Watermark, watermark: Watermark): boolean {
  if (stored.dev !== watermark.dev || stored.ino !== watermark.ino) return false;
  return stored.fingerprintLen !== watermark.fingerprintLen || stored.fingerprint === watermark.fingerprint;
}

/** Whether a record that ends at `end` is an overlapping run's: it committed this input up to `committedBefore`. */
export function isShared(end: number | null | undefined, committedBefore: number): boolean {
  return end !== null && end !== undefined && end <= committedBefore;
}

const BUSY_TIMEOUT_MS = 5000;
const PAGE_SIZE = 16 * 1024;
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;
/** About what one item takes in the key index (a UUID key, its rowid, the B-tree's own). */
const KEY_INDEX_BYTES_PER_ITEM = 64;
/** better-sqlite3's default page cache (`cache_size = -16000`): what a small store keeps. */
const MIN_CACHE_KIB = 16_000;
/** The most an import's connection takes. */
const MAX_CACHE_KIB = 32 * 1024;

/** The SQLite index: key → value digest, size, type, source; runs; resume watermarks. */
export class IndexDb implements ItemIndex {
  readonly db: Database.Database;
  readonly runs: RunLog;
  readonly failureRows: FailureRows;
  readonly path: string;
  readonly readOnly: boolean;
  /** An `inTransactionAsync` or `inReadTransactionAsync` is open on this connection. */
  private asyncOpen = false;
  /** Whether this user may write the index (always, unless `readOnly`: see `openReadOnlyIndex`). */
  private readonly mayWrite: boolean;
  /** The state of index.db when a read-only index was opened without locks (`openReadOnlyIndex`). */
  private readonly lockless: FileStamp | null;
  private readonly insertNew: Database.Statement;
  private readonly replace: Database.Statement;
  private readonly selectCounted: Database.Statement;
  private readonly totals: TotalsStatements;
  private readonly saveWatermark: Database.Statement;
  private readonly selectItem: Database.Statement;
  private readonly selectKey: Database.Statement;
  private readonly selectStoredWatermark: Database.Statement;
  private readonly selectRunStart: Database.Statement;
  private readonly runStarts = new Map<string, number | null>();

  /**
   * Opens the index at `dbPath` for writing; `readOnly`: for reading only, also where this user may
   * not write (see `openReadOnlyIndex`).
   */
  constructor(dbPath: string, options: { durable?: boolean; readOnly?: boolean } = {}) {
    this.path = dbPath;
    this.readOnly = options.readOnly ?? false;
    if (this.readOnly) {
      const opened = openReadOnlyIndex(dbPath, { busyTimeoutMs: BUSY_TIMEOUT_MS, upgrade: (db) => setUp(db, dbPath, false) });
      this.db = opened.db;
      this.mayWrite = opened.mayWrite;
      this.lockless = opened.lockless;
    } else {
      this.db = new Database(dbPath, { timeout: BUSY_TIMEOUT_MS });
      setUp(this.db, dbPath, options.durable ?? false);
      this.mayWrite = true;
      this.lockless = null;
    }
    this.runs = new RunLog(this.db);
    this.failureRows = new FailureRows(this.db);
    // Positional parameters, bound without building an object per row.
    this.insertNew = this.db.prepare(`INSERT INTO items (key, sha256, size, type, inline, source, line, run_id, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING`);
    this.replace = this.db.prepare(`UPDATE items SET sha256 = ?, size = ?, type = ?, inline = ?, source = ?, line = ?, run_id = ?, updated_at = ?
      WHERE key = ?`);
    this.selectCounted = this.db.prepare(`SELECT size, type, inline IS NOT NULL AS inline, run_id, updated_at, source, line FROM items WHERE key = ?`);
    this.totals = new TotalsStatements(this.db);
    this.saveWatermark = this.db.prepare(`INSERT INTO sources (name, dev, ino, fingerprint, fingerprint_len, line, bytes, records, run_id, updated_at)
      VALUES (@name, @dev, @ino, @fingerprint, @fingerprintLen, @line, @bytes, @records, @runId, @now)
      ON CONFLICT(name) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, fingerprint = excluded.fingerprint,
        fingerprint_len = excluded.fingerprint_len, line = excluded.line, bytes = excluded.bytes, records = excluded.records,
        run_id = excluded.run_id, updated_at = excluded.updated_at`);
    this.selectItem = this.db.prepare(`SELECT key, sha256, size, type, inline FROM items WHERE key = ?`);
    this.selectKey = this.db.prepare(`SELECT 1 FROM items WHERE key = ?`).pluck();
    this.selectStoredWatermark = this.db.prepare(`SELECT s.name, s.dev, s.ino, s.fingerprint, s.fingerprint_len AS fingerprintLen, s.line, s.bytes, s.records,
      r.started_at AS startedAt FROM sources s LEFT JOIN runs r ON r.run_id = s.run_id WHERE s.name = ?`);
    this.selectRunStart = this.db.prepare(`SELECT started_at FROM runs WHERE run_id = ?`).pluck();
  }

  /**
   * Runs `apply` in one BEGIN IMMEDIATE transaction: the batches it applies with `applyBatch`
   * commit together, or roll back together if it throws.
   */
  inTransaction<T>(apply: () => T): T {
    this.refuseDuringAsync();
    return this.db.transaction(apply).immediate();
  }

  /**
   * A batch committing on this connection while gc or verify holds an async transaction open on it
   * would join that transaction (better-sqlite3 nests it as a savepoint): it waits and tries again,
   * as if another process held the lock.
   */
  private refuseDuringAsync(): void {
    if (!this.asyncOpen) return;
    throw Object.assign(new Error('the index is held by a gc or verify on this connection; tried again'), { code: 'SQLITE_BUSY' });
  }

  readonly commitsOffThread = false;

  /**
   * Commits batches' rows, their changes to the running totals and their sources' watermarks in
   * one BEGIN IMMEDIATE transaction. `finish` runs inside it for each batch, before COMMIT, with
   * each row's outcome in order and the byte offset up to which an overlapping run had already
   * committed this input (see `shareInput`); what it records (failure entries, history counts)
   * commits or rolls back with the rows. Under `skip` and `fail` an existing key is left alone.
   * SQLite commits on this thread: the promise is settled when this returns.
   */
  commitBatches<T>(batches: readonly BatchCommit[], finish: (index: number, outcomes: RowOutcome[], committedBefore: number) => T): Promise<T[]> {
    return new Promise((resolve) => resolve(this.inTransaction(() => batches.map((batch, i) => this.applyBatch(batch, (outcomes, committedBefore) => finish(i, outcomes, committedBefore))))));
  }

  /** Runs `read` in one read transaction: what it reads is one state of the index. */
  inReadTransaction<T>(read: () => T): T {
    return this.db.transaction(read)();
  }

  inTransactionAsync<T>(apply: () => Promise<T>): Promise<T> {
    return this.openTransaction('BEGIN IMMEDIATE', apply);
  }

  inReadTransactionAsync<T>(read: () => Promise<T>): Promise<T> {
    return this.openTransaction('BEGIN', read);
  }

  /** better-sqlite3's transactions take no promise: BEGIN and COMMIT by hand around the awaits. */
  private async openTransaction<T>(begin: string, body: () => Promise<T>): Promise<T> {
    this.refuseDuringAsync();
    this.db.exec(begin);
    this.asyncOpen = true;
    let result: T;
    try {
      result = await body();
    } catch (error) {
      this.asyncOpen = false;
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
    this.asyncOpen = false;
    this.db.exec('COMMIT');
    return result;
  }

  /**
   * Inside `inTransaction`: what `commitBatches` does for one batch, without a savepoint of its own
   * (a savepoint would copy every page the batch changes to a temporary journal).
   */
  applyBatch<T>(batch: BatchCommit, finish: (outcomes: RowOutcome[], committedBefore: number) => T): T {
    const { rows, mode, runId, watermark } = batch;
    const now = Date.now();
    const stored = watermark ? this.storedWatermark(watermark.name) : undefined;
    const same = stored !== undefined && !isState(stored, watermark?.supersedes) && sameInput(stored, watermark!);
    const committedBefore = batch.shareInput && same ? stored.bytes : 0;
    const outcomes: RowOutcome[] = new Array(rows.length);
    const tally = new TotalsTally();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      outcomes[i] = isShared(row.end, committedBefore) ? 'skipped' : this.applyRow(row, mode, runId, now, tally);
    }
    tally.save(this.totals);
    if (watermark && this.watermarkMovesOn(watermark, stored, same, runId)) {
      const { supersedes: _, ...saved } = watermark;
      this.saveWatermark.run({ ...saved, runId, now });
    }
    if (batch.setting) this.writeSettingInTransaction(batch.setting.name, batch.setting.value);
    return finish(outcomes, committedBefore);
  }

  private applyRow(row: IndexRow, mode: ConflictMode, runId: string, now: number, tally: TotalsTally): RowOutcome {
    const counted = { size: row.size, type: row.type, inline: row.inline !== null };
    if (this.insertNew.run(row.key, row.sha256, row.size, row.type, row.inline, row.source, row.line, runId, now, now).changes > 0) {
      tally.add(counted);
      return 'written';
    }
    if (mode !== 'replace') return mode === 'skip' ? 'skipped' : 'conflict';
    const old = this.selectCounted.get(row.key) as { size: number; type: string; inline: number; run_id: string | null; updated_at: number; source: string | null; line: number | null };
    if (row.unlessNewer && old.run_id !== runId && isNewer(old, row.unlessNewer)) return 'skipped';
    this.replace.run(row.sha256, row.size, row.type, row.inline, row.source, row.line, runId, now, row.key);
    tally.add({ size: old.size, type: old.type, inline: old.inline === 1 }, -1);
    tally.add(counted);
    return 'written';
  }

  /**
   * A watermark only moves forward: over the same input, never back to an earlier line (an
   * overlapping run that read less commits after one that read more); over another input (the
   * file was replaced), only for a run that started no earlier than the one that saved it. A
   * watermark this run found not to describe its input (replaced or truncated) it replaces.
   */
  private watermarkMovesOn(watermark: Watermark, stored: StoredWatermark | undefined, same: boolean, runId: string): boolean {
    return watermarkMovesOn(watermark, stored, same, () => this.runStart(runId));
  }

  private storedWatermark(name: string): StoredWatermark | undefined {
    return this.selectStoredWatermark.get(name) as StoredWatermark | undefined;
  }

  private runStart(runId: string): number | null {
    if (!this.runStarts.has(runId)) this.runStarts.set(runId, (this.selectRunStart.get(runId) as number | undefined) ?? null);
    return this.runStarts.get(runId)!;
  }

  hasKey(key: string): boolean {
    return this.selectKey.get(key) !== undefined;
  }

  getItem(key: string): ItemEntry | undefined {
    return this.selectItem.get(key) as ItemEntry | undefined;
  }

  /**
   * Every item ordered by key (bytewise), optionally only keys that start with `prefix`, and only
   * keys after `after`: a range search of the key index between the prefix and the first key past
   * every key that starts with it, so a prefix costs what it returns. The prefix test stays, so the
   * bound only has to be past every such key.
   */
  iterateItems(prefix = '', after: string | null = null): IterableIterator<ItemEntry> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (prefix !== '') {
      where.push(`key >= ? AND key < CAST(? AS TEXT) AND substr(key, 1, length(?)) = ?`);
      params.push(prefix, pastPrefix(prefix), prefix, prefix);
    }
    if (after !== null) {
      where.push(`key > ?`);
      params.push(after);
    }
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    return this.db.prepare(`SELECT key, sha256, size, type, inline, source, line FROM items ${filter} ORDER BY key`).iterate(...params) as IterableIterator<ItemEntry>;
  }

  /**
   * The items whose values are in blob files, ordered by digest, for a merge with the blob files
   * listed in the same order. There is no index on sha256 (it would slow every insert): SQLite
   * sorts, holding at most its cache size in memory and the rest in temporary files
   * (SQLITE_TMPDIR), so memory stays flat however many items there are. Rows carry no key, to keep
   * what is sorted small: `keyOfRow` finds it.
   */
  iterateBlobRowsByDigest(): IterableIterator<DigestRow> {
    return this.db.prepare(`SELECT sha256, size, type, NULL AS inlineSize, rowid AS rowid FROM items WHERE inline IS NULL ORDER BY sha256`).iterate() as IterableIterator<DigestRow>;
  }

  /** The items whose values are kept in the index, in table order, without their bytes. */
  iterateInlineRows(): IterableIterator<DigestRow> {
    return this.db.prepare(`SELECT sha256, size, type, length(inline) AS inlineSize, rowid AS rowid FROM items WHERE inline IS NOT NULL`).iterate() as IterableIterator<DigestRow>;
  }

  /** Items kept in the index, by type: what gc counts of them, without handing every row to JavaScript. */
  inlineTotalsByType(): Map<string, TypeCounts> {
    const rows = this.db.prepare(`SELECT type, count(*) AS items, sum(size) AS bytes FROM items WHERE inline IS NOT NULL GROUP BY type`).all() as {
      type: string;
      items: number;
      bytes: number;
    }[];
    return new Map(rows.map(({ type, items, bytes }) => [type, { items, bytes, inlineItems: items }]));
  }

  /** Items whose values are kept in the index, with their bytes, in table order (`verify --deep` hashes them). */
  iterateInline(): IterableIterator<ItemEntry> {
    return this.db.prepare(`SELECT key, sha256, size, type, inline FROM items WHERE inline IS NOT NULL`).iterate() as IterableIterator<ItemEntry>;
  }

  keyOfRow(rowid: number): string | null {
    return (this.db.prepare(`SELECT key FROM items WHERE rowid = ?`).pluck().get(rowid) as string | undefined) ?? null;
  }

  runningTotals(): Map<string, TypeCounts> {
    return runningTypeTotals(this.db);
  }

  recountTotals(): boolean {
    return repairTypeTotals(this.db);
  }

  readTotals(options: { recount?: boolean } = {}): { totals: Totals; counted: ValueCount | null } {
    return readTotals(this.db, options);
  }

  itemDeletes(): ItemDeletes {
    return new ItemDeletes(this.db, this.runs);
  }

  countPrefix(prefix: string): { items: number; bytes: number } {
    return countRange(this.db, prefix);
  }

  getWatermark(name: string): SavedWatermark | undefined {
    const row = this.db
      .prepare(`SELECT name, dev, ino, fingerprint, fingerprint_len AS fingerprintLen, line, bytes, records,
        updated_at >= (SELECT CAST(value AS INTEGER) FROM meta WHERE name = '${RECORDS_COUNTED_SINCE}') AS recordsCounted FROM sources WHERE name = ?`)
      .get(name) as (Watermark & { recordsCounted: number | null }) | undefined;
    return row && { ...row, recordsCounted: row.recordsCounted === 1 };
  }

  readSetting(name: string): string | undefined {
    const row = this.db.prepare(`SELECT value FROM meta WHERE name = ?`).get(`setting:${name}`) as { value: string } | undefined;
    return row?.value;
  }

  writeSetting(name: string, value: string): void {
    this.inTransaction(() => this.writeSettingInTransaction(name, value));
  }

  writeSettingNow(): boolean {
    return false;
  }

  writeSettingInTransaction(name: string, value: string): void {
    this.db.prepare(`INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)`).run(`setting:${name}`, value);
  }

  /** One scan of the items for the whole group (there is no index on sha256: see iterateBlobRowsByDigest). */
  referencedDigests(digests: readonly string[]): Set<string> {
    if (digests.length === 0) return new Set();
    const found = this.db
      .prepare(`SELECT DISTINCT sha256 FROM items WHERE inline IS NULL AND sha256 IN (SELECT value FROM json_each(?))`)
      .pluck()
      .all(JSON.stringify(digests)) as string[];
    return new Set(found);
  }

  startBackgroundWork(durable: boolean): BackgroundCheckpoints {
    return new BackgroundCheckpoints(this, durable);
  }

  /** Truncates the WAL so it does not grow without bound between runs. */
  checkpoint(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Another connection holds the WAL; its own checkpoint will run at its end.
    }
  }

  /** Keeps a count of distinct values for the next `stats`, where this user may write the index. */
  keepValueCount(count: ValueCount): void {
    if (!this.mayWrite) return;
    if (!this.readOnly) {
      saveValueCount(this.db, count);
      return;
    }
    this.db.pragma('query_only = OFF');
    try {
      saveValueCount(this.db, count);
    } finally {
      this.db.pragma('query_only = ON');
    }
  }

  /**
   * Closes the connection. An index read without locks that changed meanwhile may have been read
   * half before and half after the change: that throws, so what was read is not trusted.
   */
  close(): void {
    if (!this.db.open) return;
    this.db.close();
    if (this.lockless && stampChanged(this.path, this.lockless)) {
      throw new BwriteError('E_STORE', `${this.path} changed while it was being read: a command that writes ran meanwhile, and without index.db-wal beside it (and the right to create it) SQLite's locks cannot keep the two apart; run the command again`);
    }
  }
}

/** What `IndexDb.watermarkMovesOn` decides, for any index: `runStart` is when the committing run started. */
export function watermarkMovesOn(watermark: Watermark, stored: StoredWatermark | undefined, same: boolean, runStart: () => number | null): boolean {
  if (!stored || isState(stored, watermark.supersedes)) return true;
  // By offset, not line: JSON values may share a line.
  if (same) return watermark.bytes > stored.bytes;
  if (stored.startedAt === null) return true;
  return (runStart() ?? Infinity) >= stored.startedAt;
}

/**
 * The bytes of the smallest text greater than every text that starts with `prefix`, as the index's
 * BINARY collation compares them (memcmp of UTF-8): the prefix with its last byte one higher. UTF-8
 * never holds the byte 0xff, so that byte can always be raised; the result need not be valid UTF-8
 * (it is bound as a blob and cast to text, which SQLite takes byte for byte), so a prefix ending in
 * U+FFFF or U+10FFFF has a bound too.
 */
export function pastPrefix(prefix: string): Buffer {
  const bound = Buffer.from(prefix, 'utf8');
  const last = bound.length - 1;
  bound[last] = bound[last]! + 1;
  return bound;
}

/** Pragmas and schema of an index opened for writing. */
function setUp(db: Database.Database, dbPath: string, durable: boolean): void {
  // 16 KiB pages for a new index (an existing one keeps its own: the pragma is then a no-op): rows
  // with inline values fit more to a page, so inserts, replacements and scans touch fewer
  // pages (see bench/PERFORMANCE.md, Measured design choices).
  db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
  db.pragma('foreign_keys = ON');
  migrate(db, dbPath);
  sizeCache(db);
}

/**
 * A page cache that holds the key index of a store of up to about half a million items: a
 * transaction that inserts many random keys then dirties each index page once, instead of spilling
 * it to the log and reading it back again and again. A fresh store keeps better-sqlite3's default, so
 * memory grows with the store only, up to MAX_CACHE_KIB: twice that put an import past its
 * memory budget (bench/RESULTS.md, growth).
 */
function sizeCache(db: Database.Database): void {
  const items = db.prepare(`SELECT coalesce(sum(items), 0) FROM type_totals`).pluck().get() as number;
  const kib = Math.min(MAX_CACHE_KIB, Math.max(MIN_CACHE_KIB, Math.ceil((items * KEY_INDEX_BYTES_PER_ITEM) / 1024)));
  db.pragma(`cache_size = -${kib}`);
}
