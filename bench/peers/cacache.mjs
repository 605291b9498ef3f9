// npm's content-addressed cache as a peer: `cacache.put(cache, key, value)` for every record, with
// the same concurrency as bwrite (p-limit), reading paused while 2 × that many are queued.
// usage: node cacache.mjs FILE CACHE_DIR [CONCURRENCY]
import cacache from 'cacache';
import pLimit from 'p-limit';
import { keyOf, readLines } from '../floors/lines.mjs';

const [file, cache, concurrency = '10'] = process.argv.slice(2);
const limit = pLimit(Number(concurrency));
const queued = new Set();

let items = 0;
let bytes = 0;
let line = 0;
for await (const value of readLines(file)) {
  line++;
  const key = keyOf(JSON.parse(value.toString('utf8')), line);
  const put = limit(() => cacache.put(cache, key, value));
  queued.add(put);
  put.finally(() => queued.delete(put));
  items++;
  bytes += value.length;
  if (queued.size >= 2 * limit.concurrency) await Promise.race(queued);
}
await Promise.all(queued);
console.log(JSON.stringify({ items, bytes }));
