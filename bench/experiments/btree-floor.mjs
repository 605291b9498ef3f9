// The floor of the random-key insert target (issue 15): what SQLite alone takes to add 100k new
// random-UUID keys to a table of N rows shaped like bwrite's `items` (key primary key, 200-byte
// inline values), with nothing else of bwrite's work (no parsing, hashing, watermarks, totals):
//   node bench/experiments/btree-floor.mjs DIR ROWS PAGE_SIZE
// Builds DIR/base-ROWS-PAGE_SIZE.db once (keys in ascending order, so that the build is fast and
// later random keys land evenly among them), then for each setting copies it and times 100k
// inserts in transactions of GROUP rows, ending with wal_checkpoint(TRUNCATE) as an import does.
// Prints wall time and the bytes the process wrote (/proc/self/io wchar: WAL and database).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const [dir, rowsArg, pageArg] = process.argv.slice(2);
const rows = Number(rowsArg);
const page = Number(pageArg);
if (!dir || !Number.isInteger(rows) || !Number.isInteger(page)) {
  console.error('usage: node bench/experiments/btree-floor.mjs DIR ROWS PAGE_SIZE');
  process.exit(2);
}
const SETTINGS = [
  { group: 20_000, cacheMib: 32 },
  { group: 100_000, cacheMib: 32 },
  { group: 100_000, cacheMib: 1024 },
];
const filler = randomBytes(80).toString('hex');
const insertSql = `INSERT INTO items VALUES (?, ?, ?, 'json', ?, '/var/log/app/events.ndjson', ?, '20261205T052000Z-3fa9c1', ?, ?) ON CONFLICT(key) DO NOTHING`;

function open(file, cacheMib) {
  const db = new Database(file);
  db.pragma(`page_size = ${page}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${cacheMib * 1024}`);
  db.pragma('wal_autocheckpoint = 4096');
  db.exec(`CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, type TEXT NOT NULL,
    inline BLOB, source TEXT, line INTEGER, run_id TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
  return db;
}

function row(i, key = randomUUID()) {
  const value = Buffer.from(`{"id":"${key}","n":${i},"text":"${filler}"}`);
  return [key, createHash('sha256').update(value).digest('hex'), value.length, value, i, Date.now(), Date.now()];
}

/** Keys in ascending order without holding them all: 8 hex digits spread evenly, then a random UUID's tail. */
function sortedKey(i) {
  return Math.floor((i * 2 ** 32) / rows).toString(16).padStart(8, '0') + randomUUID().slice(8);
}

function build(file) {
  const started = performance.now();
  const db = open(`${file}.part`, 64);
  const insert = db.prepare(insertSql);
  const fill = db.transaction((from, to) => {
    for (let i = from; i < to; i++) insert.run(...row(i, sortedKey(i)));
  });
  for (let i = 0; i < rows; i += 100_000) fill(i, Math.min(rows, i + 100_000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  fs.renameSync(`${file}.part`, file);
  console.log(`built ${file} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const written = () => Number(/wchar: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))[1]);

function measure(base, { group, cacheMib }) {
  const copy = `${dir}/floor-run.db`;
  fs.copyFileSync(base, copy);
  const db = open(copy, cacheMib);
  const insert = db.prepare(insertSql);
  const batch = Array.from({ length: 100_000 }, (_, i) => row(i));
  const apply = db.transaction((part) => {
    for (const r of part) insert.run(...r);
  });
  const bytesBefore = written();
  const started = performance.now();
  for (let i = 0; i < batch.length; i += group) apply(batch.slice(i, i + group));
  db.pragma('wal_checkpoint(TRUNCATE)');
  const seconds = (performance.now() - started) / 1000;
  const mb = (written() - bytesBefore) / 1e6;
  db.close();
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${copy}${suffix}`, { force: true });
  console.log(`${rows} rows, page ${page}, ${group} rows a transaction, cache ${cacheMib} MiB: 100k new keys ${seconds.toFixed(2)} s, ${mb.toFixed(0)} MB written`);
}

const base = `${dir}/base-${rows}-${page}.db`;
if (!fs.existsSync(base)) build(base);
for (const setting of SETTINGS) measure(base, setting);
