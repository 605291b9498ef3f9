import type { ItemRemoval, RunHistory } from '../backend.js';
import type { DeleteBatch } from '../item-deletes.js';
import { TotalsTally } from '../totals.js';
import { likePrefix } from './keyset.js';
import type { PgSession } from './pg-session.js';
import { pgSaveTotals } from './pg-totals.js';

interface RemovedRow {
  key: string;
  size: number;
  type: string;
  inline: boolean;
}

/** ItemDeletes in PostgreSQL: a batch per write transaction, each batch one DELETE … RETURNING. */
export class PgItemDeletes implements ItemRemoval {
  private readonly session: PgSession;
  private readonly runs: RunHistory;

  constructor(session: PgSession, runs: RunHistory) {
    this.session = session;
    this.runs = runs;
  }

  deleteKeys(keys: readonly string[], runId: string): DeleteBatch {
    return this.inTransaction(runId, () => {
      const removed = this.session.rows<RemovedRow>(`DELETE FROM items WHERE key = ANY($1::text[]) RETURNING key, size, type, inline IS NOT NULL AS inline`, [[...keys]]);
      const gone = new Set(removed.map((row) => row.key));
      // A key named twice is deleted once, then absent, as `rm a a` finds.
      const absent = keys.filter((key) => !gone.delete(key));
      return { rows: removed, batch: { asked: keys.length, deleted: removed.length, bytes: 0, absent, last: null } };
    });
  }

  deleteRange(prefix: string, after: string | null, limit: number, runId: string): DeleteBatch {
    return this.inTransaction(runId, () => {
      const removed = this.session.rows<RemovedRow>(
        `DELETE FROM items WHERE key IN (SELECT key FROM items WHERE key > $1 AND key LIKE $2 ORDER BY key LIMIT $3) RETURNING key, size, type, inline IS NOT NULL AS inline`,
        [after ?? '', likePrefix(prefix), limit],
      );
      const last = removed.reduce<string | null>((max, row) => (max === null || Buffer.compare(Buffer.from(row.key), Buffer.from(max)) > 0 ? row.key : max), null);
      return { rows: removed, batch: { asked: removed.length, deleted: removed.length, bytes: 0, absent: [], last } };
    });
  }

  private inTransaction(runId: string, apply: () => { rows: RemovedRow[]; batch: DeleteBatch }): DeleteBatch {
    return this.session.write(() => {
      const { rows, batch } = apply();
      const tally = new TotalsTally();
      for (const row of rows) {
        tally.add(row, -1);
        batch.bytes += row.size;
      }
      const totals = pgSaveTotals(tally);
      if (totals.length > 0) this.session.run(totals);
      this.runs.addCommitted(runId, { read: batch.asked, written: 0, skipped: batch.absent.length, failed: 0, deleted: batch.deleted });
      return batch;
    });
  }
}

/** The items whose keys start with `prefix`, and their bytes, in one query. */
export function countRange(session: PgSession, prefix: string): { items: number; bytes: number } {
  return session.rows<{ items: number; bytes: number }>(`SELECT count(*) AS items, coalesce(sum(size), 0)::bigint AS bytes FROM items WHERE key LIKE $1`, [likePrefix(prefix)])[0]!;
}
