// Experiment (issue 4): what would it cost to keep the count of distinct values current, so that
// the first `stats` after an import need not count them? Three ways, on bwrite's items table
// (16 KiB pages, WAL, synchronous=NORMAL, 500 rows a transaction, 1 KB values kept inline):
//
//   scan   what bwrite does: nothing at import; `stats` groups the items by digest once
//   row    a digest table (sha256 → size, blob and inline references) upserted row by row in
//          each batch's transaction, with triggers keeping the three totals
//   merge  the same table, filled from the run's new rows in one statement as the import ends
//
// For each: the import's time, the extra time at its end, and the scan `stats` would need.
// usage: node distinct-values.mjs MODE NEW_ITEMS [ITEMS_ALREADY_STORED] [DIR]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

const [mode, newText, storedText = '0', dir = os.tmpdir()] = process.argv.slice(2);
const wholeNumber = (text, min) => Number.isInteger(Number(text)) && Number(text) >= min;
if (!['scan', 'row', 'merge'].includes(mode) || !wholeNumber(newText, 1) || !wholeNumber(storedText, 0)) {
  console.error('usage: node distinct-values.mjs scan|row|merge NEW_ITEMS [ITEMS_ALREADY_STORED] [DIR]');
  process.exit(2);
}
const fresh = Number(newText);
const stored = Number(storedText);

const file = path.join(dir, `distinct-values-${mode}.db`);
for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
const db = new Database(file);
db.pragma('page_size = 16384');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  CREATE TABLE items (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, type TEXT NOT NULL, inline BLOB,
    source TEXT, line INTEGER, run_id TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE digests (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, blob_refs INTEGER NOT NULL, inline_refs INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE value_totals (id INTEGER PRIMARY KEY, blobs INTEGER NOT NULL, inline_values INTEGER NOT NULL, stored_bytes INTEGER NOT NULL);
  INSERT INTO value_totals VALUES (1, 0, 0, 0);
  CREATE TRIGGER digest_added AFTER INSERT ON digests BEGIN
    UPDATE value_totals SET blobs = blobs + (NEW.blob_refs > 0), inline_values = inline_values + (NEW.blob_refs = 0 AND NEW.inline_refs > 0),
      stored_bytes = stored_bytes + NEW.size WHERE id = 1;
  END;
  CREATE TRIGGER digest_changed AFTER UPDATE ON digests BEGIN
    UPDATE value_totals SET blobs = blobs + (NEW.blob_refs > 0) - (OLD.blob_refs > 0),
      inline_values = inline_values + (NEW.blob_refs = 0 AND NEW.inline_refs > 0) - (OLD.blob_refs = 0 AND OLD.inline_refs > 0),
      stored_bytes = stored_bytes + NEW.size * (NEW.blob_refs + NEW.inline_refs > 0) - OLD.size * (OLD.blob_refs + OLD.inline_refs > 0) WHERE id = 1;
  END;
`);
const insertItem = db.prepare(`INSERT INTO items VALUES (?, ?, ?, 'json', ?, '/data/input.ndjson', ?, '20261201T000000Z-000000', ?, ?) ON CONFLICT(key) DO NOTHING`);
const countDigest = db.prepare(`INSERT INTO digests VALUES (?, ?, 0, 1) ON CONFLICT(sha256) DO UPDATE SET inline_refs = inline_refs + 1`);
const mergeAfter = db.prepare(`INSERT INTO digests (sha256, size, blob_refs, inline_refs)
  SELECT sha256, size, inline IS NULL, inline IS NOT NULL FROM items WHERE rowid > ? ORDER BY rowid
  ON CONFLICT(sha256) DO UPDATE SET blob_refs = blob_refs + excluded.blob_refs, inline_refs = inline_refs + excluded.inline_refs`);
const scanCount = db.prepare(`SELECT count(*) FROM (SELECT 1 FROM items GROUP BY sha256)`).pluck();
const padding = 'x'.repeat(950);

/** Items `from` to `to` - 1, 500 a transaction; with `perRow`, each also counted in `digests`. */
function importItems(from, to, perRow) {
  const start = performance.now();
  const now = Date.now();
  for (let batch = from; batch < to; batch += 500) {
    db.transaction(() => {
      for (let n = batch; n < Math.min(to, batch + 500); n++) {
        const value = Buffer.from(`{"id":"k${n}","payload":"${padding}"}`);
        const sha256 = crypto.createHash('sha256').update(value).digest('hex');
        insertItem.run(`k${n}`, sha256, value.length, value, n, now, now);
        if (perRow) countDigest.run(sha256, value.length);
      }
    }).immediate();
  }
  return performance.now() - start;
}

function merge(afterRowid) {
  const start = performance.now();
  db.transaction(() => mergeAfter.run(afterRowid)).immediate();
  return performance.now() - start;
}

if (stored > 0) {
  importItems(-stored, 0, mode === 'row');
  if (mode === 'merge') merge(0);
  db.pragma('wal_checkpoint(TRUNCATE)');
}
const lastRowid = db.prepare(`SELECT coalesce(max(rowid), 0) FROM items`).pluck().get();
const importMs = importItems(0, fresh, mode === 'row');
const endMs = mode === 'merge' ? merge(lastRowid) : 0;
const scanStart = performance.now();
const distinct = scanCount.get();
const scanMs = performance.now() - scanStart;
const kept = db.prepare(`SELECT inline_values FROM value_totals`).pluck().get();
if (mode !== 'scan' && kept !== distinct) throw new Error(`the kept count ${kept} is not the ${distinct} distinct values`);
console.log(
  JSON.stringify({ mode, newItems: fresh, storedBefore: stored, importMs: Math.round(importMs), atEndMs: Math.round(endMs), statsScanMs: mode === 'scan' ? Math.round(scanMs) : 0, distinct }),
);
db.close();
for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
