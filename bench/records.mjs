// The text of every generated record. Deterministic (a seeded generator), so a dataset is the same
// bytes on every machine and a cached file can be reused.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const POOL_SIZE = 2 * 1024 * 1024 + 4096;

// Payloads are slices of one pseudo-random pool: cheap to make, and incompressible enough that
// nothing downstream gets an easy ride.
const POOL = (() => {
  let state = 0x9e3779b9;
  const chars = new Array(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    chars[i] = ALPHABET[(state >>> 0) & 63];
  }
  return chars.join('');
})();

function payload(seed, length) {
  const start = (seed * 7919) % (POOL_SIZE - length);
  return POOL.slice(start, start + length);
}

function padded(head, size, seed) {
  const tail = '"}';
  const length = size - head.length - tail.length;
  if (length < 0) throw new Error(`a record of ${size} bytes cannot hold its fields`);
  return head + payload(seed, length) + tail;
}

/** A record of exactly `size` bytes (ASCII), keyed `k<n>`. */
export function keyedRecord(n, size) {
  return padded(`{"id":"k${n}","seq":${n},"user":"user${n % 997}","ts":${1_700_000_000_000 + n},"tags":["bench","t${n % 13}"],"payload":"`, size, n);
}

/** Without a key field: only `distinct` different texts, imported with `--key {$line}`. */
export function duplicateRecord(n, size, distinct) {
  const m = n % distinct;
  return padded(`{"group":"g${m}","ts":${1_700_000_000_000 + m},"payload":"`, size, m);
}

/** The smallest useful record, for a store with many items. */
export function smallRecord(n) {
  return `{"id":"k${n}","n":${n}}`;
}

export const CSV_HEADER = 'id,seq,user,ts,payload';

/** The same fields as `keyedRecord` as one CSV row (the payload alphabet needs no quoting). */
export function csvRow(n, size) {
  const head = `k${n},${n},user${n % 997},${1_700_000_000_000 + n},`;
  return head + payload(n, size - head.length);
}
