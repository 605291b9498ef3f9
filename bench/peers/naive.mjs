// The "before" of bwrite's origin: one item at a time, each awaited in turn. Parse, hash, write
// the blob (temporary file, rename), then its index row in a transaction of its own.
// usage: node naive.mjs FILE STORE_DIR
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openIndex } from '../floors/index-db.mjs';
import { keyOf, readLines } from '../floors/lines.mjs';

const [file, store] = process.argv.slice(2);
const blobs = path.join(store, 'blobs');
const tmp = path.join(store, 'tmp');
fs.mkdirSync(tmp, { recursive: true });
const { db, commit } = openIndex(store);
// Naive about order only: fan-out directories are made once, as the floors do.
const fanout = new Set();

let items = 0;
let bytes = 0;
let line = 0;
for await (const value of readLines(file)) {
  line++;
  const key = keyOf(JSON.parse(value.toString('utf8')), line);
  const digest = createHash('sha256').update(value).digest('hex');
  const dir = path.join(blobs, digest.slice(0, 2));
  if (!fanout.has(dir)) {
    await fs.promises.mkdir(dir, { recursive: true });
    fanout.add(dir);
  }
  const temp = path.join(tmp, `${items}.tmp`);
  await fs.promises.writeFile(temp, value, { flag: 'wx', mode: 0o600 });
  await fs.promises.rename(temp, path.join(dir, digest));
  commit([[key, digest, value.length]]);
  items++;
  bytes += value.length;
}
db.close();
console.log(JSON.stringify({ items, bytes }));
