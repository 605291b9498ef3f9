import { sha256Hex } from '../sha256.js';
import type { BlobBackend, ItemIndex } from './backend.js';
import type { ItemEntry } from './index-db.js';
import { KeyCursor, compareKeys } from './key-cursor.js';

/** What can be wrong with one key of a copy, found as it is copied or when the copy is checked. */
export type CopyProblemKind = 'unreadable-source' | 'not-written' | 'missing' | 'different' | 'unreadable-copy';

export interface CopyProblem {
  key: string;
  problem: CopyProblemKind;
  message: string;
}

export interface CopyCheck {
  /** Source items found in the destination with the same SHA-256, size and type. */
  verified: number;
  /** Source items that are not so (each a problem). */
  mismatched: number;
  /** Keys only the destination holds: a copy adds to a store, it does not delete from it. */
  extra: number;
}

/** The two stores as the check reads them: only their interfaces. */
export interface CheckedStores {
  from: { index: ItemIndex };
  to: { index: ItemIndex; blobs: BlobBackend };
}

/**
 * Reads both stores' items side by side in key order (memory does not grow with either): every
 * source key must be in the destination with the same SHA-256, size and type. The blob of each
 * destination item after `readBackAfter` (the keys this run went through; null: all) is read
 * back and hashed. Keys in `skip` were reported already (their source value could not be read).
 */
export async function checkCopy(stores: CheckedStores, options: { readBackAfter: string | null; skip: ReadonlySet<string>; onProblem: (problem: CopyProblem) => void }): Promise<CopyCheck> {
  const result: CopyCheck = { verified: 0, mismatched: 0, extra: 0 };
  const copy = new KeyCursor(stores.to.index, null);
  const countExtra = () => result.extra++;
  for await (const entry of stores.from.index.iterateItems('') as Iterable<ItemEntry> | AsyncIterable<ItemEntry>) {
    const there = await copy.find(entry.key, countExtra);
    if (options.skip.has(entry.key)) continue;
    const problem = there ? await difference(entry, there, stores.to.blobs, options.readBackAfter) : missing(entry.key);
    if (problem) {
      result.mismatched++;
      options.onProblem(problem);
    } else result.verified++;
  }
  await copy.rest(countExtra);
  return result;
}

async function difference(entry: ItemEntry, there: ItemEntry, blobs: BlobBackend, readBackAfter: string | null): Promise<CopyProblem | null> {
  if (!sameValue(entry, there)) {
    return { key: entry.key, problem: 'different', message: `the copy holds ${describe(there)}, the source ${describe(entry)}` };
  }
  if (there.inline !== null || (readBackAfter !== null && compareKeys(entry.key, readBackAfter) <= 0)) return null;
  const read = await readValue(blobs, there);
  return 'problem' in read ? { key: entry.key, problem: 'unreadable-copy', message: `the copy's value ${read.problem}` } : null;
}

function missing(key: string): CopyProblem {
  return { key, problem: 'missing', message: 'the copy has no item with this key' };
}

/** The same value by its recorded SHA-256, size and type: what `copy` leaves alone as already there. */
export function sameValue(a: ItemEntry, b: ItemEntry): boolean {
  return a.sha256 === b.sha256 && a.size === b.size && a.type === b.type;
}

function describe(entry: ItemEntry): string {
  return `${entry.size} bytes of type ${entry.type} with SHA-256 ${entry.sha256}`;
}

/**
 * An item's bytes, from the index or its blob, checked against its recorded size and SHA-256; a
 * value that cannot be read or does not match is a sentence, for the copy's list of problems.
 */
export async function readValue(blobs: BlobBackend, entry: ItemEntry): Promise<{ bytes: Buffer } | { problem: string }> {
  let bytes: Buffer;
  try {
    bytes = entry.inline ?? (await blobs.read(entry.sha256));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `is missing: no blob ${entry.sha256}` };
    return { problem: `cannot be read: ${(error as Error).message}` };
  }
  if (bytes.length !== entry.size || sha256Hex(bytes) !== entry.sha256) {
    return { problem: `does not match its recorded size and SHA-256 ${entry.sha256} (${entry.inline ? 'inline copy' : 'blob'} damaged)` };
  }
  return { bytes };
}
