// A deadlock PostgreSQL breaks by aborting bwrite's transaction (40P01) is transient: the import
// rolls back, waits its backoff, commits the batch again, and stores every record once. Another
// session holds the row of the running totals a batch writes and then asks for the store's write
// lock, which the batch holds: each waits for the other. Runs against scripts/services' server.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { linesOf, ndjson, runBwrite, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { pgStore, pgUrl } from '../helpers/postgres.js';
import { waitUntil } from '../helpers/robustness.js';

/** The advisory lock every write transaction of the store in `schema` takes (PgSession's id). */
function storeLockId(schema: string): string {
  return createHash('sha256').update(`bwrite:${schema}`).digest().readBigInt64BE(0).toString();
}

describe.runIf(Boolean(pgUrl))('a deadlock', () => {
  test('that aborts a batch\'s transaction (40P01) is retried: the import exits 0 and stores every record once', async () => {
    const dir = await tempDir('bwrite-pg-deadlock-');
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const { url, schema } = pgStore();
    const records = (tag: string) => ndjson(40, (i) => ({ id: `k${i}`, tag }));
    const first = await writeText(join(dir, 'first.ndjson'), records('first'));
    expect((await runBwrite(['import', first, '--key', 'id', '--store', url], { cwd: dir, env })).code).toBe(0);

    const other = new pg.Client({ connectionString: pgUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT items FROM "${schema}".type_totals WHERE type = 'json' FOR UPDATE`);
      const second = await writeText(join(dir, 'second.ndjson'), records('second'));
      const importing = startBwrite(['import', second, '--key', 'id', '--store', url, '--json'], { cwd: dir, env });
      // The batch holds the store's lock and waits for the totals row (seen from a session of its
      // own: within a transaction, pg_stat_activity stays as first read)...
      const watcher = new pg.Client({ connectionString: pgUrl });
      await watcher.connect();
      try {
        await waitUntil(async () => (await watcher.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'bwrite' AND wait_event_type = 'Lock'`)).rows[0].n > 0, 'the batch waiting for the totals row', 30_000, 50);
      } finally {
        await watcher.end();
      }
      // ...and this session now waits for the store's lock: the server aborts the one that waited first, the batch.
      await other.query('SELECT pg_advisory_xact_lock($1::bigint)', [storeLockId(schema)]);
      await other.query('ROLLBACK');
      const run = await importing.result;
      const summary = JSON.parse(linesOf(run.stdout).at(-1)!) as { status: string; written: number; failed: number; retries: number };
      expect({ code: run.code, status: summary.status, written: summary.written, failed: summary.failed }).toEqual({ code: 0, status: 'ok', written: 40, failed: 0 });
      expect(summary.retries).toBeGreaterThan(0);
    } finally {
      await other.end();
    }
    const exported = linesOf((await runBwrite(['export', '--store', url], { cwd: dir, env })).stdout).map((line) => JSON.parse(line) as { tag: string });
    expect(exported).toHaveLength(40);
    expect(exported.every((item) => item.tag === 'second')).toBe(true);
    const stats = JSON.parse((await runBwrite(['stats', '--json', '--store', url], { cwd: dir, env })).stdout) as { items: number };
    expect(stats.items).toBe(40);
    expect((await runBwrite(['verify', '--deep', '--store', url], { cwd: dir, env })).code).toBe(0);
  });
});
