// The growth bench's records: N random (v4-shaped) UUID keys drawn from a seeded stream, emitted in
// key order so that building a large store is a sequence of appends to the index's B-tree. The keys
// are still a uniform random set: they are drawn first, then counting-sorted on their first two
// bytes and each bucket sorted, so the order says nothing about how they were drawn.
//
// CLI: node bench/growth-data.mjs COUNT [SEED] > sorted.ndjson
import crypto from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const KEY_BYTES = 16;
// Each line is this long without its newline: the value (the record's JSON text) is ~200 B.
export const RECORD_BYTES = 200;
const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa'.split(' ');

/** A deterministic byte stream: AES-256-CTR of zeros under a key derived from `seed`. */
export function randomStream(seed) {
  const key = crypto.createHash('sha256').update(`bwrite-growth:${seed}`).digest();
  const cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (bytes) => cipher.update(Buffer.alloc(bytes));
}

/**
 * The first `count` random UUIDs of `seed`'s stream (16 bytes each, version 4 / variant 1 bits set),
 * in the order they were drawn. A smaller count draws a prefix of a larger one's keys.
 */
export function drawnKeys(count, seed) {
  const raw = randomStream(seed)(count * KEY_BYTES);
  for (let i = 0; i < count; i++) {
    raw[i * KEY_BYTES + 6] = (raw[i * KEY_BYTES + 6] & 0x0f) | 0x40;
    raw[i * KEY_BYTES + 8] = (raw[i * KEY_BYTES + 8] & 0x3f) | 0x80;
  }
  return raw;
}

/** The same keys as `drawnKeys`, sorted by their bytes (the order of their UUID text). */
export function sortedKeys(count, seed) {
  return bucketSort(drawnKeys(count, seed), count);
}

// Counting sort on the first 16 bits, then each (small) bucket sorted by comparison.
function bucketSort(raw, count) {
  const starts = new Uint32Array(65537);
  for (let i = 0; i < count; i++) starts[raw.readUInt16BE(i * KEY_BYTES) + 1]++;
  for (let b = 1; b <= 65536; b++) starts[b] += starts[b - 1];
  const next = starts.slice(0, 65536);
  const out = Buffer.allocUnsafe(count * KEY_BYTES);
  for (let i = 0; i < count; i++) {
    const at = next[raw.readUInt16BE(i * KEY_BYTES)]++;
    raw.copy(out, at * KEY_BYTES, i * KEY_BYTES, (i + 1) * KEY_BYTES);
  }
  for (let b = 0; b < 65536; b++) sortRange(out, starts[b], starts[b + 1]);
  return out;
}

function sortRange(buf, from, to) {
  if (to - from < 2) return;
  const items = [];
  for (let i = from; i < to; i++) items.push(Buffer.from(buf.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES)));
  items.sort(Buffer.compare);
  items.forEach((item, j) => item.copy(buf, (from + j) * KEY_BYTES));
}

export function uuidAt(keys, i) {
  const h = keys.toString('hex', i * KEY_BYTES, (i + 1) * KEY_BYTES);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** One record of exactly RECORD_BYTES: its key, a serial, a version tag and filler text. */
export function record(id, n, version = 1) {
  const head = `{"id":"${id}","n":${n},"v":${version},"tag":"${WORDS[n % WORDS.length]}","text":"`;
  const tail = '"}';
  const fill = RECORD_BYTES - head.length - tail.length;
  let text = '';
  while (text.length < fill) text += `${WORDS[(n + text.length) % WORDS.length]} `;
  return `${head}${text.slice(0, fill)}${tail}`;
}

/** Writes `count` records in key order to `out` (a writable stream), version `version`. */
export async function writeSorted(out, count, seed, version = 1) {
  return writeRecords(out, sortedKeys(count, seed), count, version);
}

/** Writes one record per key of `keys` (a buffer of 16-byte keys), in the buffer's order. */
export async function writeRecords(out, keys, count, version = 1) {
  let chunk = '';
  for (let i = 0; i < count; i++) {
    chunk += `${record(uuidAt(keys, i), i, version)}\n`;
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  if (chunk) out.write(chunk);
  return keys;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const count = Number(process.argv[2]);
  const seed = process.argv[3] ?? 'store';
  if (!Number.isInteger(count) || count < 1) {
    process.stderr.write('usage: node bench/growth-data.mjs COUNT [SEED] > sorted.ndjson\n');
    process.exit(2);
  }
  // A reader that stops early (`| head`) is not an error.
  process.stdout.on('error', (error) => process.exit(error.code === 'EPIPE' ? 0 : 1));
  await writeSorted(process.stdout, count, seed);
}
