import { readTotals } from './totals.js';
import type { RunRecord } from './run-log.js';
import type { Store } from './store.js';

export interface StoreStats {
  store: string;
  items: number;
  /** Distinct values kept as files under blobs/ (by at least one item). */
  blobs: number;
  /** Distinct values kept only inside the index. */
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

/** What the store holds and how its runs went, from the running totals (no item or file is read). */
export function storeStats(store: Store, runLimit = 20): StoreStats {
  const { totals, counted } = readTotals(store.index.db);
  if (counted) store.index.keepValueCount(counted);
  return {
    store: store.layout.root,
    items: totals.items,
    blobs: totals.blobs,
    inlineValues: totals.inlineValues,
    inlineItems: totals.inlineItems,
    bytes: totals.bytes,
    storedBytes: totals.storedBytes,
    dedupRatio: totals.storedBytes > 0 ? Math.round((totals.bytes / totals.storedBytes) * 1000) / 1000 : null,
    byType: totals.byType,
    runs: store.runs.list(runLimit),
  };
}
