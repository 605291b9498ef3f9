// The blob floor: only the essential work of a one-file-per-value import. Parse, SHA-256, write the
// value to a temporary file and rename it into a 2-hex fan-out path, at most 10 writes in flight;
// a batch's 500 index rows commit in one transaction once its files are on disk. A digest already
// written by this process is not written again (content addressing's one saving).
// usage: node blob.mjs FILE STORE_DIR [CONCURRENCY] [BATCH]
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openIndex } from './index-db.mjs';
import { keyOf, readLines } from './lines.mjs';

const [file, store, concurrency = '10', batchSize = '500'] = process.argv.slice(2);
const limit = Number(concurrency);
const batchLimit = Number(batchSize);
const blobs = path.join(store, 'blobs');
const tmp = path.join(store, 'tmp');
fs.mkdirSync(blobs, { recursive: true });
fs.mkdirSync(tmp, { recursive: true });
const { db, commit } = openIndex(store);

const fanout = new Set();
const written = new Set();
let active = 0;
let wake = null;
let tmpCounter = 0;

async function writeBlob(digest, bytes) {
  const dir = path.join(blobs, digest.slice(0, 2));
  if (!fanout.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    fanout.add(dir);
  }
  const temp = path.join(tmp, `${++tmpCounter}.tmp`);
  await fs.promises.writeFile(temp, bytes, { flag: 'wx', mode: 0o600 });
  await fs.promises.rename(temp, path.join(dir, digest));
}

function release() {
  active--;
  if (wake) {
    const resume = wake;
    wake = null;
    resume();
  }
}

let items = 0;
let bytes = 0;
let line = 0;
let rows = [];
let writes = [];
let committed = Promise.resolve();
const flush = () => {
  const batch = rows;
  const pending = writes;
  committed = committed.then(() => Promise.all(pending)).then(() => commit(batch));
  rows = [];
  writes = [];
};

for await (const value of readLines(file)) {
  line++;
  const record = JSON.parse(value.toString('utf8'));
  const digest = createHash('sha256').update(value).digest('hex');
  if (!written.has(digest)) {
    written.add(digest);
    while (active >= limit) await new Promise((resolve) => (wake = resolve));
    active++;
    writes.push(writeBlob(digest, value).finally(release));
  }
  rows.push([keyOf(record, line), digest, value.length]);
  items++;
  bytes += value.length;
  if (rows.length >= batchLimit) flush();
}
if (rows.length > 0) flush();
await committed;
db.close();
console.log(JSON.stringify({ items, bytes }));
