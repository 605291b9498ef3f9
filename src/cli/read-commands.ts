import { once } from 'node:events';
import { BwriteError } from '../errors.js';
import type { ItemEntry } from '../store/index-db.js';
import { openStore } from '../store/store.js';
import type { Output } from './output.js';

/** `bwrite get KEY`: the value and a newline; exit 1 when the key is absent. */
export async function getCommand(key: string, options: { store: string }, output: Output): Promise<number> {
  const store = await openStore(options.store, { create: false });
  try {
    const found = store.get(key);
    if (!found) {
      output.error(`no item with key '${key}' in ${store.layout.root}`, { prefix: 'bwrite: ' });
      return 1;
    }
    await writeOut(Buffer.concat([found.value, NEWLINE]));
    return 0;
  } finally {
    await store.close();
  }
}

/** `bwrite export`: every value as NDJSON, ordered by key, streamed with backpressure. */
export async function exportCommand(options: { store: string; prefix?: string; withKeys?: boolean }): Promise<number> {
  const store = await openStore(options.store, { create: false });
  try {
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    for (const entry of store.index.iterateItems(options.prefix ?? '')) {
      const line = exportLine(entry, store.readValue(entry), Boolean(options.withKeys));
      pending.push(line, NEWLINE);
      pendingBytes += line.length + 1;
      if (pendingBytes >= 64 * 1024) {
        await writeOut(Buffer.concat(pending, pendingBytes));
        pending.length = 0;
        pendingBytes = 0;
      }
    }
    if (pendingBytes > 0) await writeOut(Buffer.concat(pending, pendingBytes));
    return 0;
  } finally {
    await store.close();
  }
}

const NEWLINE = Buffer.from('\n');

/** One NDJSON line: JSON values as stored (compacted if they span lines), others as JSON strings. */
function exportLine(entry: ItemEntry, value: Buffer, withKeys: boolean): Buffer {
  let json = entry.type === 'json' ? value : Buffer.from(JSON.stringify(value.toString('utf8')));
  if (json.includes(0x0a)) {
    try {
      json = Buffer.from(JSON.stringify(JSON.parse(json.toString('utf8'))));
    } catch {
      json = Buffer.from(JSON.stringify(value.toString('utf8')));
    }
  }
  if (!withKeys) return json;
  return Buffer.concat([Buffer.from(`{"key":${JSON.stringify(entry.key)},"value":`), json, Buffer.from('}')]);
}

/** Writes to stdout, waiting when the pipe is full; a closed pipe (`| head`) ends the command quietly. */
async function writeOut(chunk: Buffer): Promise<void> {
  if (process.stdout.destroyed) throw new BwriteError('EPIPE', 'standard output is closed');
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}
