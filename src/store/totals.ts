import type Database from 'better-sqlite3';

/**
 * The store's running totals (schema version 2), what `stats` shows:
 *
 * - items, bytes and inline items by type are kept by each batch's transaction (a `TotalsTally`
 *   collects a batch's changes), so reading them costs a row per type whatever the store's size;
 * - distinct values (blob files, inline values, stored bytes) need a scan of every item, so they
 *   are counted only on request (`stats --recount`, or by gc and verify as they read the items),
 *   or by `stats` itself while the store is small enough for the scan to cost little. The count is
 *   kept with the store's generation, which every batch that changes the items advances, and the
 *   time it was made (schema version 4): `stats` shows it with that time once the items changed.
 */

/** Distinct values: what a scan of every item counts. */
export interface ValueTotals {
  /** Distinct values at least one item keeps in a blob file. */
  blobs: number;
  /** Distinct values kept only inside the index. */
  inlineValues: number;
  /** Bytes of the distinct values, each counted once. */
  storedBytes: number;
}

export interface Totals {
  items: number;
  bytes: number;
  inlineItems: number;
  byType: Record<string, { items: number; bytes: number }>;
  /** The latest count of distinct values; null when none was ever kept. */
  values: ValueTotals | null;
  /** When `values` was counted (ms since the epoch); null when it never was. */
  valuesCountedAt: number | null;
  /** Whether `values` counts the items as they are now (no batch changed them since). */
  valuesCurrent: boolean;
}

/** What one item contributes to the totals. */
export interface CountedValue {
  size: number;
  type: string;
  inline: boolean;
}

export interface TypeCounts {
  items: number;
  bytes: number;
  inlineItems: number;
}

/** Items by type: a batch's changes (a replaced item counts −1 then +1), or a recount. */
export class TotalsTally {
  readonly types = new Map<string, TypeCounts>();

  add(value: CountedValue, delta: 1 | -1 = 1): void {
    let type = this.types.get(value.type);
    if (!type) this.types.set(value.type, (type = { items: 0, bytes: 0, inlineItems: 0 }));
    type.items += delta;
    type.bytes += delta * value.size;
    if (value.inline) type.inlineItems += delta;
  }

  /** Adds counts made elsewhere (by SQL, per type). */
  addCounts(counts: Map<string, TypeCounts>): void {
    for (const [name, t] of counts) {
      const type = this.types.get(name) ?? { items: 0, bytes: 0, inlineItems: 0 };
      this.types.set(name, { items: type.items + t.items, bytes: type.bytes + t.bytes, inlineItems: type.inlineItems + t.inlineItems });
    }
  }

  /** Adds the tally to the totals and advances the generation; call inside the batch's transaction. */
  save(statements: TotalsStatements): void {
    let changed = false;
    for (const [type, t] of this.types) {
      if (t.items === 0 && t.bytes === 0 && t.inlineItems === 0) continue;
      statements.addToType.run(type, t.items, t.bytes, t.inlineItems);
      changed = true;
    }
    if (changed) statements.advance.run();
  }
}

export class TotalsStatements {
  readonly addToType: Database.Statement;
  readonly advance: Database.Statement;

  constructor(db: Database.Database) {
    this.addToType = db.prepare(`INSERT INTO type_totals (type, items, bytes, inline_items) VALUES (?, ?, ?, ?)
      ON CONFLICT(type) DO UPDATE SET items = items + excluded.items, bytes = bytes + excluded.bytes, inline_items = inline_items + excluded.inline_items`);
    this.advance = db.prepare(`UPDATE generation SET value = value + 1 WHERE id = 1`);
  }
}

/** A count of distinct values, the generation of the items it counted, and when (ms; `saveValueCount`: now when absent). */
export interface ValueCount extends ValueTotals {
  generation: number;
  countedAt?: number;
}

/**
 * The most items a store may hold for `stats` to count its distinct values itself whenever they
 * changed: the scan then costs a small part of what `stats` takes to start, so a small store keeps
 * exact figures with no caveat. Above it, only `--recount` (or gc and verify) count them.
 */
export const COUNT_ON_READ_MAX_ITEMS = 10_000;

const COUNT_VALUES = `SELECT coalesce(sum(in_blob), 0) AS blobs, coalesce(sum(1 - in_blob), 0) AS inlineValues, coalesce(sum(size), 0) AS storedBytes
  FROM (SELECT max(size) AS size, min(inline IS NOT NULL) = 0 AS in_blob FROM items GROUP BY sha256)`;

/**
 * The totals: by type from the running rows; distinct values from the kept count, or from a new
 * one when `recount` asks for it or the store is small and the kept count is not current. Writes
 * nothing: a new count is returned as `counted`, for the caller to keep (`IndexDb.keepValueCount`).
 */
export function readTotals(db: Database.Database, options: { recount?: boolean } = {}): { totals: Totals; counted: ValueCount | null } {
  // One read transaction: the generation and what is counted are of the same items.
  return db.transaction(() => {
    const types = db.prepare(`SELECT type, items, bytes, inline_items AS inlineItems FROM type_totals WHERE items > 0 ORDER BY type`).all() as ({ type: string } & TypeCounts)[];
    const generation = db.prepare(`SELECT value FROM generation WHERE id = 1`).pluck().get() as number;
    const kept = db
      .prepare(`SELECT generation, blobs, inline_values AS inlineValues, stored_bytes AS storedBytes, counted_at AS countedAt FROM value_totals WHERE id = 1`)
      .get() as Required<ValueCount> | undefined;
    return totalsFrom({ types, generation, kept }, options, () => db.prepare(COUNT_VALUES).get() as ValueTotals);
  })();
}

/** What an index read for its totals, on one snapshot. */
export interface TotalsRead {
  types: readonly ({ type: string } & TypeCounts)[];
  generation: number;
  kept: Required<ValueCount> | undefined;
}

/**
 * The totals from the running rows and the kept count, counting distinct values now (`countValues`)
 * when `recount` asks for it or the store is small and the kept count is not current; any index.
 */
export function totalsFrom(read: TotalsRead, options: { recount?: boolean }, countValues: () => ValueTotals): { totals: Totals; counted: ValueCount | null } {
  const { types, generation, kept } = read;
  const totals: Totals = { items: 0, bytes: 0, inlineItems: 0, byType: {}, values: null, valuesCountedAt: null, valuesCurrent: false };
  for (const row of types) {
    totals.byType[row.type] = { items: row.items, bytes: row.bytes };
    totals.items += row.items;
    totals.bytes += row.bytes;
    totals.inlineItems += row.inlineItems;
  }
  const current = kept?.generation === generation;
  const countNow = options.recount === true || (!current && totals.items <= COUNT_ON_READ_MAX_ITEMS);
  const count: Required<ValueCount> | undefined = countNow ? { generation, countedAt: Date.now(), ...countValues() } : kept;
  if (count) {
    totals.values = { blobs: count.blobs, inlineValues: count.inlineValues, storedBytes: count.storedBytes };
    totals.valuesCountedAt = count.countedAt;
    totals.valuesCurrent = count.generation === generation;
  }
  return { totals, counted: countNow ? (count ?? null) : null };
}

/**
 * Keeps a count for the next `stats`, which shows it as exact while the generation it counted is
 * current, and with the time it was made once it is not.
 */
export function saveValueCount(db: Database.Database, count: ValueCount): void {
  try {
    db.prepare(`INSERT OR REPLACE INTO value_totals (id, generation, blobs, inline_values, stored_bytes, counted_at) VALUES (1, ?, ?, ?, ?, ?)`).run(
      count.generation,
      count.blobs,
      count.inlineValues,
      count.storedBytes,
      count.countedAt ?? Date.now(),
    );
  } catch {
    // Keeping the count is an optimisation: a busy store is counted again next time.
  }
}

/**
 * Counts items by type again from the items themselves and, where the running totals disagree
 * (what `verify` reports), replaces them. Returns whether it did. The count runs without the
 * write lock; the replacement counts again under it, so no batch commits in between.
 */
export function repairTypeTotals(db: Database.Database): boolean {
  const recount = `SELECT type, count(*) AS items, sum(size) AS bytes, sum(inline IS NOT NULL) AS inlineItems FROM items GROUP BY type`;
  const agree = db.transaction((): boolean => {
    const counted = new Map((db.prepare(recount).all() as ({ type: string } & TypeCounts)[]).map(({ type, ...counts }) => [type, counts]));
    return typesOff(counted, runningTypeTotals(db)).length === 0;
  })();
  if (agree) return false;
  db.transaction(() => {
    db.exec(`DELETE FROM type_totals; INSERT INTO type_totals (type, items, bytes, inline_items) ${recount}; UPDATE generation SET value = value + 1 WHERE id = 1;`);
  }).immediate();
  return true;
}

/** The running totals by type, to compare with a count `verify` makes as it reads the items. */
export function runningTypeTotals(db: Database.Database): Map<string, TypeCounts> {
  const rows = db.prepare(`SELECT type, items, bytes, inline_items AS inlineItems FROM type_totals WHERE items <> 0 OR bytes <> 0 OR inline_items <> 0`).all() as ({
    type: string;
  } & TypeCounts)[];
  return new Map(rows.map(({ type, ...counts }) => [type, counts]));
}

/** The types whose running totals (what `stats` shows) disagree with the items counted. */
export function typesOff(counted: Map<string, TypeCounts>, running: Map<string, TypeCounts>): { type: string; counted: TypeCounts; running: TypeCounts }[] {
  const none: TypeCounts = { items: 0, bytes: 0, inlineItems: 0 };
  const off = [];
  for (const type of new Set([...counted.keys(), ...running.keys()])) {
    const want = counted.get(type) ?? none;
    const have = running.get(type) ?? none;
    if (want.items !== have.items || want.bytes !== have.bytes || want.inlineItems !== have.inlineItems) off.push({ type, counted: want, running: have });
  }
  return off;
}
