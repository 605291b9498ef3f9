import type { RunRecord } from './run-log.js';
import type { Store } from './store.js';

export interface StoreStats {
  store: string;
  items: number;
  /**
   * Distinct values kept as files under blobs/ (by at least one item). This and the other counted
   * figures (`inlineValues`, `storedBytes`) are as of `valuesCountedAt`; null when
   * they were never counted.
   */
  blobs: number | null;
  /** Distinct values kept only inside the index. */
  inlineValues: number | null;
  inlineItems: number;
  /** Sum of the items' value sizes. */
  bytes: number;
  /** Bytes after de-duplication: each distinct value counted once. */
  storedBytes: number | null;
  /** `bytes` / `storedBytes`; null unless the count is current (it would divide today's bytes by an older count). */
  dedupRatio: number | null;
  /** When the distinct values were counted (ms since the epoch); null: never. */
  valuesCountedAt: number | null;
  /** Whether that count is of the items as they are now; when false, `--recount` (`recount`) counts them. */
  valuesCurrent: boolean;
  /**
   * Runs that started after the count and stored items (0 while it is current), counted up to
   * `RUNS_SINCE_COUNT_LIMIT`: that figure means at least as many.
   */
  runsSinceCount: number;
  byType: Record<string, { items: number; bytes: number }>;
  runs: RunRecord[];
}

export const RUNS_SINCE_COUNT_LIMIT = 1000;

/**
 * What the store holds and how its runs went, from the running totals. Distinct values come from
 * the kept count; they are counted again (a scan of every item) and the count kept when `recount`
 * asks for it, or when the store is small and the count is not current (`readTotals`).
 */
export function storeStats(store: Store, options: { runLimit?: number; recount?: boolean } = {}): StoreStats {
  const { totals, counted } = store.index.readTotals({ recount: options.recount });
  if (counted) store.index.keepValueCount(counted);
  const values = totals.values;
  return {
    store: store.layout.root,
    items: totals.items,
    blobs: values?.blobs ?? null,
    inlineValues: values?.inlineValues ?? null,
    inlineItems: totals.inlineItems,
    bytes: totals.bytes,
    storedBytes: values?.storedBytes ?? null,
    dedupRatio: values && totals.valuesCurrent && values.storedBytes > 0 ? Math.round((totals.bytes / values.storedBytes) * 1000) / 1000 : null,
    valuesCountedAt: totals.valuesCountedAt,
    valuesCurrent: totals.valuesCurrent,
    runsSinceCount: totals.valuesCurrent || totals.valuesCountedAt === null ? 0 : store.runs.countStoringSince(totals.valuesCountedAt, RUNS_SINCE_COUNT_LIMIT),
    byType: totals.byType,
    runs: store.runs.list(options.runLimit ?? 20),
  };
}
