import type Database from 'better-sqlite3';
import type { ItemRemoval, RunHistory } from './backend.js';
import type { Store } from './store.js';
import { pastPrefix } from './index-db.js';
import { TotalsStatements, TotalsTally } from './totals.js';

/** What one batch of a delete removed (or, counted only, would remove). */
export interface DeleteBatch {
  /** Keys named, or items of the range reached. */
  asked: number;
  deleted: number;
  /** The deleted values' sizes. */
  bytes: number;
  /** Keys named that no item has, in the order named. */
  absent: string[];
  /** The last key of the range this batch reached; null once the range holds no more. */
  last: string | null;
}

interface CountedRow {
  key: string;
  size: number;
  type: string;
  inline: number;
}

/**
 * Removes items from the index, a batch per BEGIN IMMEDIATE transaction, together with their
 * share of the running totals (so `stats` stays exact and the generation moves on) and the
 * delete run's counts. Blobs stay: an item leaves the index before its data may go, and only gc
 * removes data, under its grace and lease rules (rule 3 in store.ts). Between two batches an
 * import's batch may commit: a delete never holds the write lock for more than one batch.
 */
export class ItemDeletes implements ItemRemoval {
  private readonly db: Database.Database;
  private readonly runs: RunHistory;
  private readonly totals: TotalsStatements;
  private readonly selectRow: Database.Statement;
  private readonly deleteRow: Database.Statement;

  constructor(db: Database.Database, runs: RunHistory) {
    this.db = db;
    this.runs = runs;
    this.totals = new TotalsStatements(this.db);
    this.selectRow = this.db.prepare(`SELECT key, size, type, inline IS NOT NULL AS inline FROM items WHERE key = ?`);
    this.deleteRow = this.db.prepare(`DELETE FROM items WHERE key = ?`);
  }

  /** Deletes the named keys; a key named again once deleted is absent, as `rm a a` finds. */
  deleteKeys(keys: readonly string[], runId: string): DeleteBatch {
    return this.inTransaction(runId, (tally) => {
      const batch: DeleteBatch = { asked: keys.length, deleted: 0, bytes: 0, absent: [], last: null };
      for (const key of keys) {
        const row = this.selectRow.get(key) as CountedRow | undefined;
        if (row) this.remove(row, tally, batch);
        else batch.absent.push(key);
      }
      return batch;
    });
  }

  /**
   * Deletes up to `limit` items whose keys start with `prefix` ('' for every item), in key order,
   * from just past `after` (from the start of the range when null).
   */
  deleteRange(prefix: string, after: string | null, limit: number, runId: string): DeleteBatch {
    return this.inTransaction(runId, (tally) => {
      const rows = rangeRows(this.db, prefix, after, limit);
      const batch: DeleteBatch = { asked: rows.length, deleted: 0, bytes: 0, absent: [], last: rows.at(-1)?.key ?? null };
      for (const row of rows) this.remove(row, tally, batch);
      return batch;
    });
  }

  private remove(row: CountedRow, tally: TotalsTally, batch: DeleteBatch): void {
    this.deleteRow.run(row.key);
    tally.add({ size: row.size, type: row.type, inline: row.inline === 1 }, -1);
    batch.deleted++;
    batch.bytes += row.size;
  }

  private inTransaction(runId: string, apply: (tally: TotalsTally) => DeleteBatch): DeleteBatch {
    return this.db
      .transaction(() => {
        const tally = new TotalsTally();
        const batch = apply(tally);
        tally.save(this.totals);
        this.runs.addCommitted(runId, { read: batch.asked, written: 0, skipped: batch.absent.length, failed: 0, deleted: batch.deleted });
        return batch;
      })
      .immediate();
  }
}

/** What a delete would remove, counted without changing anything (`--dry-run`). */
export function countKeys(store: Store, keys: readonly string[]): DeleteBatch {
  const batch: DeleteBatch = { asked: keys.length, deleted: 0, bytes: 0, absent: [], last: null };
  for (const key of keys) {
    const entry = store.index.getItem(key);
    if (!entry) batch.absent.push(key);
    else {
      batch.deleted++;
      batch.bytes += entry.size;
    }
  }
  return batch;
}

/** The items whose keys start with `prefix`, and their bytes, counted without changing anything (`--dry-run`). */
export function countPrefix(store: Store, prefix: string): DeleteBatch {
  const { items, bytes } = store.index.countPrefix(prefix);
  return { asked: items, deleted: items, bytes, absent: [], last: null };
}

/** The SQLite index's count of the items whose keys start with `prefix`, and their bytes, in one query. */
export function countRange(db: Database.Database, prefix: string): { items: number; bytes: number } {
  const { where, params } = rangeWhere(prefix, null);
  return db.prepare(`SELECT count(*) AS items, coalesce(sum(size), 0) AS bytes FROM items WHERE ${where}`).get(...params) as { items: number; bytes: number };
}

function rangeRows(db: Database.Database, prefix: string, after: string | null, limit: number): CountedRow[] {
  const { where, params } = rangeWhere(prefix, after);
  return db.prepare(`SELECT key, size, type, inline IS NOT NULL AS inline FROM items WHERE ${where} ORDER BY key LIMIT ?`).all(...params, limit) as CountedRow[];
}

/**
 * A range of the key index (see `IndexDb.iterateItems`): from the prefix, or just past `after`,
 * up to the first key past every key that starts with the prefix.
 */
function rangeWhere(prefix: string, after: string | null): { where: string; params: unknown[] } {
  const from = after === null ? 'key >= ?' : 'key > ?';
  if (prefix === '') return { where: from, params: [after ?? ''] };
  return {
    where: `${from} AND key < CAST(? AS TEXT) AND substr(key, 1, length(?)) = ?`,
    params: [after ?? prefix, pastPrefix(prefix), prefix, prefix],
  };
}
