// Experiment (issue 4): does moving parse + SHA-256 + keying to a worker thread pay off on 2 cores?
// The inline floor's work split in two: a worker reads, parses, hashes and keys each batch and
// transfers it (one ArrayBuffer of values, no copy back); the main thread only commits rows.
// Compare with ../floors/inline.mjs, which does the same work on one thread.
// usage: node inline-worker.mjs FILE STORE_DIR [BATCH]
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openIndex } from '../floors/index-db.mjs';
import { keyOf, readLines } from '../floors/lines.mjs';

if (isMainThread) {
  const [file, store, batchSize = '500'] = process.argv.slice(2);
  fs.mkdirSync(store, { recursive: true });
  const { db, commit } = openIndex(store);
  let items = 0;
  let bytes = 0;
  const worker = new Worker(new URL(import.meta.url), { workerData: { file, batch: Number(batchSize) } });
  await new Promise((resolve, reject) => {
    worker.on('message', (batch) => {
      if (batch === null) return resolve();
      const values = Buffer.from(batch.values);
      const rows = batch.keys.map((key, i) => [key, batch.digests[i], batch.ends[i] - (batch.ends[i - 1] ?? 0), values.subarray(batch.ends[i - 1] ?? 0, batch.ends[i])]);
      commit(rows);
      items += rows.length;
      bytes += values.length;
      worker.postMessage('ack');
    });
    worker.on('error', reject);
  });
  await worker.terminate();
  db.close();
  console.log(JSON.stringify({ items, bytes }));
} else {
  const { file, batch: limit } = workerData;
  // At most two batches ahead of the committer: bounded memory, like bwrite's backpressure.
  let ahead = 0;
  let wake = null;
  parentPort.on('message', () => {
    ahead--;
    wake?.();
  });
  let keys = [];
  let digests = [];
  let parts = [];
  let line = 0;
  const send = async () => {
    while (ahead >= 2) await new Promise((resolve) => (wake = resolve));
    const values = Buffer.concat(parts);
    let end = 0;
    const ends = parts.map((part) => (end += part.length));
    const buffer = values.buffer.slice(values.byteOffset, values.byteOffset + values.length);
    parentPort.postMessage({ keys, digests, ends, values: buffer }, [buffer]);
    ahead++;
    keys = [];
    digests = [];
    parts = [];
  };
  for await (const value of readLines(file)) {
    line++;
    const record = JSON.parse(value.toString('utf8'));
    keys.push(keyOf(record, line));
    digests.push(createHash('sha256').update(value).digest('hex'));
    parts.push(value);
    if (keys.length >= limit) await send();
  }
  if (keys.length > 0) await send();
  parentPort.postMessage(null);
}
