import { once } from 'node:events';
import { BwriteError } from '../errors.js';
import { isJsonText } from '../pipeline/item-check.js';
import type { ItemEntry } from '../store/index-db.js';
import { readStore, type Store } from '../store/store.js';
import type { Output } from './output.js';

/** `bwrite get KEY`: the value and a newline; exit 1 when the key is absent. */
export async function getCommand(key: string, options: { store: string; blobs?: string }, output: Output): Promise<number> {
  const { root, found } = await readStore(options.store, async (store) => ({ root: store.layout.root, found: await store.get(key) }), options);
  if (!found) {
    output.error(`no item with key '${key}' in ${root}`, { prefix: 'bwrite: ' });
    return 1;
  }
  await writeOut(Buffer.concat([found.value, NEWLINE]));
  return 0;
}

const DAMAGED_SHOWN = 10;

/**
 * `bwrite export`: every value as NDJSON, ordered by key, streamed with backpressure. A value that
 * fails its check is reported and skipped, and export goes on, ending with exit 3: like tar or
 * rsync facing an unreadable file, it gets every intact value out of a damaged store (what a
 * user salvaging data needs), while the exit code keeps `export > backup && …` from trusting it.
 */
export async function exportCommand(options: { store: string; blobs?: string; prefix?: string; withKeys?: boolean }, output: Output): Promise<number> {
  return readStore(options.store, (store) => exportValues(store, options, output), options);
}

async function exportValues(store: Store, options: { prefix?: string; withKeys?: boolean }, output: Output): Promise<number> {
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let damaged = 0;
  for await (const { entry, value, error } of readAhead(store, store.index.iterateItems(options.prefix ?? ''))) {
    if (error !== undefined) {
      if ((error as { code?: string }).code !== 'E_DAMAGED') throw error;
      if (++damaged <= DAMAGED_SHOWN) output.error((error as Error).message, { prefix: 'bwrite: error: ' });
      continue;
    }
    const line = exportLine(entry, value!, Boolean(options.withKeys));
    pending.push(line, NEWLINE);
    pendingBytes += line.length + 1;
    if (pendingBytes >= 64 * 1024) {
      await writeOut(Buffer.concat(pending, pendingBytes));
      pending.length = 0;
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) await writeOut(Buffer.concat(pending, pendingBytes));
  if (damaged === 0) return 0;
  output.error(`${damaged} ${damaged === 1 ? 'value' : 'values'} could not be read and ${damaged === 1 ? 'was' : 'were'} left out of the export; run 'bwrite verify' to list them`, { prefix: 'bwrite: error: ' });
  return 3;
}

/**
 * Values read ahead of the one printed, up to so many and so many bytes: object storage answers
 * one request at a time slowly, several at once quickly; large values still come one at a time.
 */
const READ_AHEAD = 16;
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

interface ReadValue {
  entry: ItemEntry;
  value?: Buffer;
  error?: unknown;
}

/** Each entry's value in key order, with reads in flight up to READ_AHEAD; a failed read is handed on, not thrown. */
async function* readAhead(store: Store, entries: Iterable<ItemEntry>): AsyncGenerator<ReadValue> {
  const queue: { size: number; read: Promise<ReadValue> }[] = [];
  let queuedBytes = 0;
  const next = async (): Promise<ReadValue> => {
    const { size, read } = queue.shift()!;
    queuedBytes -= size;
    return read;
  };
  for (const entry of entries) {
    queue.push({ size: entry.size, read: store.readValue(entry).then((value) => ({ entry, value }), (error: unknown) => ({ entry, error })) });
    queuedBytes += entry.size;
    while (queue.length >= READ_AHEAD || (queue.length > 0 && queuedBytes >= READ_AHEAD_BYTES)) yield await next();
  }
  while (queue.length > 0) yield await next();
}

const NEWLINE = Buffer.from('\n');

/**
 * One NDJSON line. Import stores each record's JSON text whatever its --type, so a value is
 * printed as it is when its type is json or its bytes are JSON text; only other bytes (which the
 * library can store under another type) are printed as a JSON string.
 */
function exportLine(entry: ItemEntry, value: Buffer, withKeys: boolean): Buffer {
  const json = entry.type === 'json' || isJsonText(value) ? oneLine(value) : Buffer.from(JSON.stringify(value.toString('utf8')));
  if (!withKeys) return json;
  return Buffer.concat([Buffer.from(`{"key":${JSON.stringify(entry.key)},"value":`), json, Buffer.from('}')]);
}

/**
 * JSON text that spans lines, on one line: a line end in JSON text can only be white space
 * between tokens (never inside a string), so it becomes a space, and every digit stays as stored.
 */
function oneLine(json: Buffer): Buffer {
  if (!json.includes(0x0a) && !json.includes(0x0d)) return json;
  const copy = Buffer.from(json);
  for (let i = 0; i < copy.length; i++) if (copy[i] === 0x0a || copy[i] === 0x0d) copy[i] = 0x20;
  return copy;
}

/** Writes to stdout, waiting when the pipe is full; a closed pipe (`| head`) ends the command quietly. */
async function writeOut(chunk: Buffer): Promise<void> {
  if (process.stdout.destroyed) throw new BwriteError('EPIPE', 'standard output is closed');
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}
