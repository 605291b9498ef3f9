import { totalsFrom, typesOff, type Totals, type TotalsTally, type TypeCounts, type ValueCount, type ValueTotals } from '../totals.js';
import type { PgSession } from './pg-session.js';
import type { Statement } from './sync-bridge.js';

/** totals.ts's running totals and kept count of distinct values, in PostgreSQL. */

const COUNT_VALUES = `SELECT coalesce(sum(in_blob), 0)::bigint AS blobs, coalesce(sum(1 - in_blob), 0)::bigint AS "inlineValues", coalesce(sum(size), 0)::bigint AS "storedBytes"
  FROM (SELECT max(size) AS size, CASE WHEN bool_or(inline IS NULL) THEN 1 ELSE 0 END AS in_blob FROM items GROUP BY sha256) v`;

const RECOUNT = `SELECT type, count(*) AS items, sum(size)::bigint AS bytes, count(inline) AS "inlineItems" FROM items GROUP BY type`;

/** A batch's changes to the totals (TotalsTally.save), as statements for the batch's transaction. */
export function pgSaveTotals(tally: TotalsTally): Statement[] {
  const types = [...tally.types].filter(([, t]) => t.items !== 0 || t.bytes !== 0 || t.inlineItems !== 0);
  if (types.length === 0) return [];
  // One statement, one round trip: the generation advances with the totals.
  return [
    {
      sql: `WITH added AS (INSERT INTO type_totals (type, items, bytes, inline_items) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
          ON CONFLICT (type) DO UPDATE SET items = type_totals.items + excluded.items, bytes = type_totals.bytes + excluded.bytes,
            inline_items = type_totals.inline_items + excluded.inline_items)
        UPDATE generation SET value = value + 1 WHERE id = 1`,
      params: [types.map(([type]) => type), types.map(([, t]) => t.items), types.map(([, t]) => t.bytes), types.map(([, t]) => t.inlineItems)],
    },
  ];
}

/** What readTotals in totals.ts reads, on one snapshot. */
export function pgReadTotals(session: PgSession, options: { recount?: boolean }): { totals: Totals; counted: ValueCount | null } {
  return session.read(() => {
    const [types, generationRows, keptRows] = session.run([
      { sql: `SELECT type, items, bytes, inline_items AS "inlineItems" FROM type_totals WHERE items > 0 ORDER BY type` },
      { sql: `SELECT value FROM generation WHERE id = 1` },
      { sql: `SELECT generation, blobs, inline_values AS "inlineValues", stored_bytes AS "storedBytes", counted_at AS "countedAt" FROM value_totals WHERE id = 1` },
    ]);
    const generation = generationRows!.rows[0]!.value as number;
    const kept = keptRows!.rows[0] as Required<ValueCount> | undefined;
    const read = { types: types!.rows as unknown as ({ type: string } & TypeCounts)[], generation, kept };
    return totalsFrom(read, options, () => session.rows<ValueTotals>(COUNT_VALUES)[0]!);
  });
}

/** Keeps a count for the next `stats` (saveValueCount in totals.ts); a user who may not write skips it. */
export function pgSaveValueCount(session: PgSession, count: ValueCount): void {
  try {
    session.write(() =>
      session.run([
        {
          sql: `INSERT INTO value_totals (id, generation, blobs, inline_values, stored_bytes, counted_at) VALUES (1, $1, $2, $3, $4, $5)
            ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, blobs = excluded.blobs, inline_values = excluded.inline_values,
              stored_bytes = excluded.stored_bytes, counted_at = excluded.counted_at`,
          params: [count.generation, count.blobs, count.inlineValues, count.storedBytes, count.countedAt ?? Date.now()],
        },
      ]),
    );
  } catch {
    // Keeping the count is an optimisation: a store this user may only read is counted again next time.
  }
}

export function pgRunningTotals(session: PgSession): Map<string, TypeCounts> {
  const rows = session.rows<{ type: string } & TypeCounts>(
    `SELECT type, items, bytes, inline_items AS "inlineItems" FROM type_totals WHERE items <> 0 OR bytes <> 0 OR inline_items <> 0`,
  );
  return new Map(rows.map(({ type, ...counts }) => [type, counts]));
}

/** repairTypeTotals in totals.ts: counts without the lock, replaces under it only when they disagree. */
export function pgRecountTotals(session: PgSession): boolean {
  const agree = session.read(() => {
    const counted = new Map(session.rows<{ type: string } & TypeCounts>(RECOUNT).map(({ type, ...counts }) => [type, counts]));
    return typesOff(counted, pgRunningTotals(session)).length === 0;
  });
  if (agree) return false;
  session.write(() =>
    session.run([
      { sql: `DELETE FROM type_totals` },
      { sql: `INSERT INTO type_totals (type, items, bytes, inline_items) SELECT type, items, bytes, "inlineItems" FROM (${RECOUNT}) c` },
      { sql: `UPDATE generation SET value = value + 1 WHERE id = 1` },
    ]),
  );
  return true;
}
