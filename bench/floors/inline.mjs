// The inline floor: parse, SHA-256, and the value itself inserted into SQLite, 500 rows per
// transaction. No files, so nothing to wait for: the whole loop is synchronous per batch.
// usage: node inline.mjs FILE STORE_DIR [BATCH]
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { openIndex } from './index-db.mjs';
import { keyOf, readLines } from './lines.mjs';

const [file, store, batchSize = '500'] = process.argv.slice(2);
const batchLimit = Number(batchSize);
fs.mkdirSync(store, { recursive: true });
const { db, commit } = openIndex(store);

let items = 0;
let bytes = 0;
let line = 0;
let rows = [];
for await (const value of readLines(file)) {
  line++;
  const record = JSON.parse(value.toString('utf8'));
  const digest = createHash('sha256').update(value).digest('hex');
  rows.push([keyOf(record, line), digest, value.length, value]);
  items++;
  bytes += value.length;
  if (rows.length >= batchLimit) {
    commit(rows);
    rows = [];
  }
}
if (rows.length > 0) commit(rows);
db.close();
console.log(JSON.stringify({ items, bytes }));
