import type { RunRecord } from './run-log.js';
import type { Store } from './store.js';

export interface StoreStats {
  store: string;
  items: number;
  /** Distinct values kept as files under blobs/. */
  blobs: number;
  /** Distinct values kept inside the index. */
  inlineValues: number;
  inlineItems: number;
  /** Sum of the items' value sizes. */
  bytes: number;
  /** Bytes after de-duplication: each distinct value counted once. */
  storedBytes: number;
  dedupRatio: number | null;
  byType: Record<string, { items: number; bytes: number }>;
  runs: RunRecord[];
}

/** What the store holds and how its runs went, from the index alone (no file is read). */
export function storeStats(store: Store, runLimit = 20): StoreStats {
  const { db } = store.index;
  const totals = db.prepare(`SELECT count(*) AS items, coalesce(sum(size), 0) AS bytes, coalesce(sum(inline IS NOT NULL), 0) AS inlineItems FROM items`).get() as {
    items: number;
    bytes: number;
    inlineItems: number;
  };
  const distinct = db
    .prepare(
      `SELECT coalesce(sum(inline_any = 0), 0) AS blobs, coalesce(sum(inline_any = 1), 0) AS inlineValues, coalesce(sum(size), 0) AS storedBytes
       FROM (SELECT sha256, max(size) AS size, max(inline IS NOT NULL) AS inline_any FROM items GROUP BY sha256)`,
    )
    .get() as { blobs: number; inlineValues: number; storedBytes: number };
  const byType: StoreStats['byType'] = {};
  for (const row of db.prepare(`SELECT type, count(*) AS items, sum(size) AS bytes FROM items GROUP BY type ORDER BY type`).all() as { type: string; items: number; bytes: number }[]) {
    byType[row.type] = { items: row.items, bytes: row.bytes };
  }
  return {
    store: store.layout.root,
    items: totals.items,
    blobs: distinct.blobs,
    inlineValues: distinct.inlineValues,
    inlineItems: totals.inlineItems,
    bytes: totals.bytes,
    storedBytes: distinct.storedBytes,
    dedupRatio: distinct.storedBytes > 0 ? Math.round((totals.bytes / distinct.storedBytes) * 1000) / 1000 : null,
    byType,
    runs: store.runs.list(runLimit),
  };
}
