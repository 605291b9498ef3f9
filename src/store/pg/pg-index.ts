import type { ItemIndex } from '../backend.js';
import {
  isNewer,
  isShared,
  isState,
  sameInput,
  watermarkMovesOn,
  type BatchCommit,
  type ConflictMode,
  type DigestRow,
  type IndexRow,
  type ItemEntry,
  type RowOutcome,
  type SavedWatermark,
  type StoredWatermark,
  type Watermark,
} from '../index-db.js';
import { TotalsTally, type Totals, type TypeCounts, type ValueCount } from '../totals.js';
import { copyBinary, type CopyColumn } from './copy-binary.js';
import { keysetPages, likePrefix } from './keyset.js';
import { PgFailureRows } from './pg-failure-rows.js';
import { PgItemDeletes, countRange } from './pg-item-deletes.js';
import { PgRunLog } from './pg-run-log.js';
import type { PgSession } from './pg-session.js';
import { pgReadTotals, pgRecountTotals, pgRunningTotals, pgSaveTotals, pgSaveValueCount } from './pg-totals.js';
import type { Statement, StatementResult } from './sync-bridge.js';

/** An item as a batch finds it, and as each of the batch's rows leaves it. */
interface Current {
  size: number;
  type: string;
  inline: boolean;
  run_id: string | null;
  updated_at: number;
  source: string | null;
  line: number | null;
}

/** What a transaction's batches find, as each batch leaves it for the next: items by key, stored watermarks by name. */
interface Before {
  current: Map<string, Current>;
  stored: Map<string, StoredWatermark>;
}

/** Rows a page of an iterator reads in one call. */
const PAGE_ROWS = 2000;

const ITEM_COLUMNS = `key, sha256, size, type, inline`;

/**
 * The index in PostgreSQL: the same tables and the same rules as IndexDb, reached synchronously
 * through PgSession. A batch costs a few round trips whatever its size: the items it names are
 * read in one statement, the rows are applied in input order in memory (the last occurrence of a
 * key wins, as row-by-row statements would leave it), and what changed is written in one
 * statement per table.
 */
export class PgIndex implements ItemIndex {
  readonly runs: PgRunLog;
  readonly failureRows: PgFailureRows;
  readonly session: PgSession;
  private readonly runStarts = new Map<string, number | null>();
  readonly commitsOffThread = true;

  constructor(session: PgSession) {
    this.session = session;
    this.runs = new PgRunLog(session);
    this.failureRows = new PgFailureRows(session);
  }

  inTransaction<T>(apply: () => T): T {
    return this.session.write(apply);
  }


  inReadTransaction<T>(read: () => T): T {
    return this.session.read(read);
  }

  inTransactionAsync<T>(apply: () => Promise<T>): Promise<T> {
    return this.session.writeAsync(apply);
  }

  inReadTransactionAsync<T>(read: () => Promise<T>): Promise<T> {
    return this.session.readAsync(read);
  }

  /**
   * The items all the batches name and their sources' watermarks are read with BEGIN and the lock,
   * in one call; each batch is then applied in memory against what the batches before it left, and
   * what they change is written once, with the COMMIT. The main thread waits for neither call
   * (PgSession.writeCommitting): it parses the next batches meanwhile.
   */
  commitBatches<T>(batches: readonly BatchCommit[], finish: (index: number, outcomes: RowOutcome[], committedBefore: number) => T): Promise<T[]> {
    const runIds = [...new Set(batches.map((batch) => batch.runId))].filter((runId) => !this.runStarts.has(runId));
    return this.session.writeCommitting(readBefore(batches, runIds), (found) => {
      const before = this.beforeFrom(found, runIds);
      const writes = new TransactionWrites(new Set(before.current.keys()), Date.now(), (size) => this.session.copyArea(size));
      const results = batches.map((batch, i) => this.applyOne(batch, before, writes, (outcomes, committedBefore) => finish(i, outcomes, committedBefore)));
      this.session.defer(writes.statements());
      return results;
    });
  }

  private applyOne<T>(batch: BatchCommit, before: Before, writes: TransactionWrites, finish: (outcomes: RowOutcome[], committedBefore: number) => T): T {
    const { rows, mode, runId, watermark } = batch;
    const stored = watermark ? before.stored.get(watermark.name) : undefined;
    const same = stored !== undefined && !isState(stored, watermark?.supersedes) && sameInput(stored, watermark!);
    const committedBefore = batch.shareInput && same ? stored.bytes : 0;
    const outcomes: RowOutcome[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      outcomes[i] = isShared(row.end, committedBefore) ? 'skipped' : applyRow(row, mode, runId, writes.now, before.current, writes);
    }
    if (watermark && watermarkMovesOn(watermark, stored, same, () => this.runStarts.get(runId) ?? null)) {
      writes.watermarks.set(watermark.name, { watermark, runId });
      const { supersedes: _, ...saved } = watermark;
      before.stored.set(watermark.name, { ...saved, startedAt: this.runStarts.get(runId) ?? null });
    }
    if (batch.setting) writes.settings.set(batch.setting.name, batch.setting.value);
    return finish(outcomes, committedBefore);
  }

  /** What readBefore found: the items by key, the watermarks by name; the runs' starts are kept. */
  private beforeFrom([items, sources, starts]: StatementResult[], runIds: readonly string[]): Before {
    for (const runId of runIds) this.runStarts.set(runId, null);
    for (const row of (starts?.rows ?? []) as { run_id: string; started_at: number }[]) this.runStarts.set(row.run_id, row.started_at);
    const current = new Map((items!.rows as unknown as (Current & { key: string })[]).map((item) => [item.key, item as Current]));
    const stored = new Map((sources!.rows as unknown as StoredWatermark[]).map((row) => [row.name, row]));
    return { current, stored };
  }

  hasKey(key: string): boolean {
    return this.session.rows(`SELECT 1 FROM items WHERE key = $1`, [key]).length > 0;
  }

  getItem(key: string): ItemEntry | undefined {
    const [row] = this.session.rows<ItemEntry>(`SELECT ${ITEM_COLUMNS} FROM items WHERE key = $1`, [key]);
    return row && withBuffer(row);
  }

  /** Items in key order, with their source and line, a page per call, each page starting past the last key of the one before (or `after`). */
  iterateItems(prefix = '', after: string | null = null): IterableIterator<ItemEntry> {
    const like = likePrefix(prefix);
    return keysetPages((last: ItemEntry | undefined) =>
      this.session
        .rows<ItemEntry>(`SELECT ${ITEM_COLUMNS}, source, line FROM items WHERE key > $1 AND key LIKE $2 ORDER BY key LIMIT ${PAGE_ROWS}`, [last?.key ?? after ?? '', like])
        .map(withBuffer),
    );
  }

  /** Blob rows in digest order, each page a range of the partial index on (sha256, key) of the rows whose values are blobs. */
  iterateBlobRowsByDigest(): IterableIterator<DigestRow> {
    return keysetPages((last: (DigestRow & { key: string }) | undefined) =>
      this.session.rows<DigestRow & { key: string }>(
        `SELECT sha256, size, type, NULL::bigint AS "inlineSize", rowid, key FROM items WHERE inline IS NULL AND (sha256, key) > ($1, $2)
         ORDER BY sha256, key LIMIT ${PAGE_ROWS}`,
        [last?.sha256 ?? '', last?.key ?? ''],
      ),
    );
  }

  iterateInlineRows(): IterableIterator<DigestRow> {
    return keysetPages((last: (DigestRow & { key: string }) | undefined) =>
      this.session.rows<DigestRow & { key: string }>(
        `SELECT sha256, size, type, length(inline) AS "inlineSize", rowid, key FROM items WHERE inline IS NOT NULL AND key > $1 ORDER BY key LIMIT ${PAGE_ROWS}`,
        [last?.key ?? ''],
      ),
    );
  }

  iterateInline(): IterableIterator<ItemEntry> {
    return keysetPages((last: ItemEntry | undefined) =>
      this.session
        .rows<ItemEntry>(`SELECT ${ITEM_COLUMNS} FROM items WHERE inline IS NOT NULL AND key > $1 ORDER BY key LIMIT ${PAGE_ROWS}`, [last?.key ?? ''])
        .map(withBuffer),
    );
  }

  inlineTotalsByType(): Map<string, TypeCounts> {
    const rows = this.session.rows<{ type: string; items: number; bytes: number }>(
      `SELECT type, count(*) AS items, sum(size) AS bytes FROM items WHERE inline IS NOT NULL GROUP BY type`,
    );
    return new Map(rows.map(({ type, items, bytes }) => [type, { items, bytes, inlineItems: items }]));
  }

  keyOfRow(rowid: number): string | null {
    return this.session.rows<{ key: string }>(`SELECT key FROM items WHERE rowid = $1`, [rowid])[0]?.key ?? null;
  }

  runningTotals(): Map<string, TypeCounts> {
    return pgRunningTotals(this.session);
  }

  recountTotals(): boolean {
    return pgRecountTotals(this.session);
  }

  readTotals(options: { recount?: boolean } = {}): { totals: Totals; counted: ValueCount | null } {
    return pgReadTotals(this.session, options);
  }

  keepValueCount(count: ValueCount): void {
    pgSaveValueCount(this.session, count);
  }

  getWatermark(name: string): SavedWatermark | undefined {
    const [row] = this.session.rows<Watermark & { recordsCounted: boolean | null }>(
      `SELECT name, dev, ino, fingerprint, fingerprint_len AS "fingerprintLen", line, bytes, records,
        updated_at >= (SELECT value::bigint FROM meta WHERE name = 'watermark_records_since') AS "recordsCounted" FROM sources WHERE name = $1`,
      [name],
    );
    return row && { ...row, recordsCounted: row.recordsCounted === true };
  }

  readSetting(name: string): string | undefined {
    return this.session.rows<{ value: string }>(`SELECT value FROM meta WHERE name = $1`, [`setting:${name}`])[0]?.value;
  }

  writeSetting(name: string, value: string): void {
    this.inTransaction(() => this.writeSettingInTransaction(name, value));
  }

  writeSettingNow(name: string, value: string): boolean {
    this.session.run([saveSetting(name, value)], 'lease');
    return true;
  }

  writeSettingInTransaction(name: string, value: string): void {
    this.session.run([saveSetting(name, value)]);
  }

  referencedDigests(digests: readonly string[]): Set<string> {
    if (digests.length === 0) return new Set();
    const rows = this.session.rows<{ sha256: string }>(`SELECT DISTINCT sha256 FROM items WHERE inline IS NULL AND sha256 = ANY($1::text[])`, [digests]);
    return new Set(rows.map((row) => row.sha256));
  }

  itemDeletes(): PgItemDeletes {
    return new PgItemDeletes(this.session, this.runs);
  }

  countPrefix(prefix: string): { items: number; bytes: number } {
    return countRange(this.session, prefix);
  }

  /** PostgreSQL needs no work beside an import. */
  startBackgroundWork(): { stop(): Promise<void> } {
    return { stop: async () => {} };
  }

  /** The server keeps its own log. */
  checkpoint(): void {}

  close(): void {
    this.session.close();
  }
}

/** The items the batches name, their sources' stored watermarks and when the runs not yet seen started. */
function readBefore(batches: readonly BatchCommit[], runIds: readonly string[]): Statement[] {
  const keys = new Set(batches.flatMap((batch) => batch.rows.map((row) => row.key)));
  const names = [...new Set(batches.flatMap((batch) => (batch.watermark ? [batch.watermark.name] : [])))];
  return [
    { sql: `SELECT key, size, type, inline IS NOT NULL AS inline, run_id, updated_at, source, line FROM items WHERE key = ANY($1::text[])`, params: [[...keys]] },
    {
      sql: `SELECT s.name, s.dev, s.ino, s.fingerprint, s.fingerprint_len AS "fingerprintLen", s.line, s.bytes, s.records, r.started_at AS "startedAt"
        FROM sources s LEFT JOIN runs r ON r.run_id = s.run_id WHERE s.name = ANY($1::text[])`,
      params: [names],
    },
    ...(runIds.length > 0 ? [{ sql: `SELECT run_id, started_at FROM runs WHERE run_id = ANY($1::text[])`, params: [runIds] }] : []),
  ];
}

/** One row of a batch against the items as the rows before it left them (what IndexDb.applyRow does with statements). */
function applyRow(row: IndexRow, mode: ConflictMode, runId: string, now: number, current: Map<string, Current>, writes: TransactionWrites): RowOutcome {
  const old = current.get(row.key);
  if (old && mode !== 'replace') return mode === 'skip' ? 'skipped' : 'conflict';
  if (old && row.unlessNewer && old.run_id !== runId && isNewer(old, row.unlessNewer)) return 'skipped';
  if (old) writes.tally.add(old, -1);
  // A literal, not a spread of another object: V8 builds a spread of a few fields on a slow path, a cost per row.
  const item: Current = { size: row.size, type: row.type, inline: row.inline !== null, run_id: runId, updated_at: now, source: row.source, line: row.line };
  writes.tally.add(item);
  current.set(row.key, item);
  writes.items.set(row.key, { row, runId });
  return 'written';
}

/**
 * What a transaction's batches change, gathered as they are applied and written once: only the
 * last state of each row matters to what the transaction commits. Every row the transaction
 * writes has the same time, that of the transaction.
 */
class TransactionWrites {
  readonly items = new Map<string, { row: IndexRow; runId: string }>();
  readonly tally = new TotalsTally();
  readonly watermarks = new Map<string, { watermark: Watermark; runId: string }>();
  readonly settings = new Map<string, string>();

  /** `storedKeys`: the keys the index held when the transaction read them, under the write lock. */
  constructor(
    private readonly storedKeys: ReadonlySet<string>,
    readonly now: number,
    private readonly copyArea: (size: number) => Uint8Array,
  ) {}

  statements(): Statement[] {
    const statements = writeItems([...this.items.values()], this.storedKeys, this.now, this.copyArea);
    statements.push(...pgSaveTotals(this.tally));
    for (const { watermark, runId } of this.watermarks.values()) statements.push(saveWatermark(watermark, runId, this.now));
    for (const [name, value] of this.settings) statements.push(saveSetting(name, value));
    return statements;
  }
}

/**
 * A transaction's items: new keys sent with one COPY (the cheapest way in), keys the index held
 * (read under the write lock, so still there) replaced by INSERT … ON CONFLICT, keeping their created_at.
 */
function writeItems(items: { row: IndexRow; runId: string }[], storedKeys: ReadonlySet<string>, now: number, copyArea: (size: number) => Uint8Array): Statement[] {
  const added = items.filter(({ row }) => !storedKeys.has(row.key));
  const replaced = added.length === items.length ? [] : items.filter(({ row }) => storedKeys.has(row.key));
  const statements = replaced.length > 0 ? upsertItems(replaced, now) : [];
  if (added.length > 0) {
    statements.push({
      sql: `COPY items (key, sha256, size, type, inline, source, line, run_id, created_at, updated_at) FROM STDIN (FORMAT binary)`,
      copyData: copyBinary(
        ITEM_COPY_COLUMNS,
        added.map(({ row, runId }) => [row.key, row.sha256, row.size, row.type, row.inline, row.source, row.line, runId, now, now]),
        copyArea,
      ),
    });
  }
  return statements;
}

const ITEM_COPY_COLUMNS: CopyColumn[] = ['text', 'text', 'int8', 'text', 'bytea', 'text', 'int8', 'text', 'int8', 'int8'];

/** Parameters of one statement: PostgreSQL's protocol numbers them in 16 bits. */
const MAX_PARAMS = 65_535;
const ITEM_PARAMS = 8;

/**
 * Items a transaction replaces, a statement per MAX_PARAMS parameters; a replaced item keeps its
 * created_at. Values go as parameters of their own, which `pg` sends as binary, not as the hex text an
 * array of bytea would take.
 */
function upsertItems(items: { row: IndexRow; runId: string }[], now: number): Statement[] {
  const perStatement = Math.floor((MAX_PARAMS - 1) / ITEM_PARAMS);
  const statements: Statement[] = [];
  for (let from = 0; from < items.length; from += perStatement) {
    const params: unknown[] = [now];
    const tuples = items.slice(from, from + perStatement).map(({ row, runId }) => {
      const at = params.length;
      params.push(row.key, row.sha256, row.size, row.type, row.inline, row.source, row.line, runId);
      return `($${at + 1}, $${at + 2}, $${at + 3}::bigint, $${at + 4}, $${at + 5}::bytea, $${at + 6}, $${at + 7}::bigint, $${at + 8}, $1::bigint, $1::bigint)`;
    });
    statements.push({
      sql: `INSERT INTO items (key, sha256, size, type, inline, source, line, run_id, created_at, updated_at) VALUES ${tuples.join(', ')}
        ON CONFLICT (key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, type = excluded.type, inline = excluded.inline,
          source = excluded.source, line = excluded.line, run_id = excluded.run_id, updated_at = excluded.updated_at`,
      params,
    });
  }
  return statements;
}

function saveWatermark(watermark: Watermark, runId: string, now: number): Statement {
  const { name, dev, ino, fingerprint, fingerprintLen, line, bytes, records } = watermark;
  return {
    sql: `INSERT INTO sources (name, dev, ino, fingerprint, fingerprint_len, line, bytes, records, run_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
      ON CONFLICT (name) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, fingerprint = excluded.fingerprint, fingerprint_len = excluded.fingerprint_len,
        line = excluded.line, bytes = excluded.bytes, records = excluded.records, run_id = excluded.run_id, updated_at = excluded.updated_at`,
    params: [name, dev, ino, fingerprint, fingerprintLen, line, bytes, records, runId, now],
  };
}

function saveSetting(name: string, value: string): Statement {
  return { sql: `INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, params: [`setting:${name}`, value] };
}

/** Bytes cross from the worker as a Uint8Array; callers hash and write them as a Buffer. */
function withBuffer(entry: ItemEntry): ItemEntry {
  const inline = entry.inline as Uint8Array | null;
  return inline && !Buffer.isBuffer(inline) ? { ...entry, inline: Buffer.from(inline.buffer, inline.byteOffset, inline.byteLength) } : entry;
}
