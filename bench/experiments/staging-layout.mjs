// What a staging layout would give at 10 M items, measured with bare better-sqlite3 on a copy of a
// store's index.db (its `items` table, key index and pragmas as bwrite sets them):
//   node bench/experiments/staging-layout.mjs INDEX_DB [--rows N] [--group N] [--cache-mib N] [--stage-phases K] [--only-staging]
// INDEX_DB is changed (rows are added): give it a copy. Every phase adds N new random-UUID keys
// (different ones each phase) in transactions of --group rows, and ends with a
// wal_checkpoint(TRUNCATE), as an import does; the figures are wall time, median of the phase's
// single run (run the script again for more).
//   direct          rows into `items` in input order (what bwrite does today, grouped)
//   direct sorted   the same, each transaction's rows sorted by key first
//   lookup only     a point lookup of each key in `items` (bwrite must know whether a key existed)
//   staging         rows into a small `staging` table (same columns, key primary key) + the lookup
//   merge           the staged rows (K staging phases of N) into `items` in key order, in one
//                   transaction, then emptied
// --only-staging skips the direct and lookup phases.
import { randomUUID, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const args = process.argv.slice(2);
const file = args.shift();
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const rows = option('--rows', 100_000);
const group = option('--group', 20_000);
const cacheMib = option('--cache-mib', 64);
const stagePhases = option('--stage-phases', 1);
const onlyStaging = args.includes('--only-staging');
if (!file) throw new Error('usage: node bench/experiments/staging-layout.mjs INDEX_DB [--rows N] [--group N] [--cache-mib N]');

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma(`cache_size = -${cacheMib * 1024}`);
db.exec(`CREATE TABLE IF NOT EXISTS staging AS SELECT * FROM items WHERE 0`);
db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS staging_key ON staging(key)`);
db.exec(`DELETE FROM staging`);
const count = db.prepare(`SELECT max(rowid) FROM items`).pluck().get();
console.log(`items (max rowid) ${count}, ${rows} rows a phase, ${group} a transaction, cache ${cacheMib} MiB`);

const columns = `(key, sha256, size, type, inline, source, line, run_id, created_at, updated_at)`;
const insertItem = db.prepare(`INSERT INTO items ${columns} VALUES (?, ?, ?, 'json', ?, 'x', ?, 'r', ?, ?) ON CONFLICT(key) DO NOTHING`);
const insertStaged = db.prepare(`INSERT INTO staging ${columns} VALUES (?, ?, ?, 'json', ?, 'x', ?, 'r', ?, ?) ON CONFLICT(key) DO NOTHING`);
const lookup = db.prepare(`SELECT size FROM items WHERE key = ?`).pluck();

function newRows() {
  const value = randomBytes(100).toString('hex');
  return Array.from({ length: rows }, (_, i) => ({ key: randomUUID(), sha: randomBytes(32).toString('hex'), value: Buffer.from(`${value}${i}`), line: i }));
}

function timed(name, work, n = rows) {
  const start = performance.now();
  work();
  db.pragma('wal_checkpoint(TRUNCATE)');
  const ms = performance.now() - start;
  console.log(`${name.padEnd(14)} ${(ms / 1000).toFixed(2)} s  ${Math.round((n / ms) * 1000)} rows/s`);
}

function inGroups(all, apply, sorted = false) {
  for (let at = 0; at < all.length; at += group) {
    const part = all.slice(at, at + group);
    if (sorted) part.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    db.transaction(() => {
      const now = Date.now();
      for (const row of part) apply(row, now);
    }).immediate();
  }
}

const put = (statement) => (row, now) => statement.run(row.key, row.sha, row.value.length, row.value, row.line, now, now);

if (!onlyStaging) {
  timed('direct', () => inGroups(newRows(), put(insertItem)));
  timed('direct sorted', () => inGroups(newRows(), put(insertItem), true));
  const probe = newRows();
  timed('lookup only', () => inGroups(probe, (row) => lookup.get(row.key)));
}
for (let phase = 0; phase < stagePhases; phase++) {
  timed('staging', () =>
    inGroups(newRows(), (row, now) => {
      lookup.get(row.key);
      put(insertStaged)(row, now);
    }),
  );
}
timed(`merge ${rows * stagePhases}`, () => {
  db.transaction(() => {
    db.exec(`INSERT INTO items ${columns} SELECT key, sha256, size, type, inline, source, line, run_id, created_at, updated_at FROM staging ORDER BY key`);
    db.exec(`DELETE FROM staging`);
  }).immediate();
}, rows * stagePhases);
db.close();
