import fs from 'node:fs';
import { sha256Hex } from '../sha256.js';
import { blobPath, isDigest } from './layout.js';
import { scanBlobs, scanTemp } from './scan.js';
import { setAsideDigests } from './set-aside.js';
import type { ItemEntry } from './index-db.js';
import type { Store } from './store.js';
import { runningTypeTotals, TotalsTally, type TypeCounts } from './totals.js';

export interface VerifyProblem {
  kind: 'missing' | 'size' | 'hash' | 'bad-digest' | 'stray' | 'corrupt-blob' | 'totals';
  key: string | null;
  path: string | null;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  deep: boolean;
  items: number;
  blobs: number;
  orphanBlobs: number;
  orphanBytes: number;
  tempFiles: number;
  problems: VerifyProblem[];
}

/**
 * Checks that every index row's value is there with its recorded size (deep: and its SHA-256),
 * and counts what nothing refers to. Orphans and temporary files are what a killed run may
 * leave; they are counted, not problems.
 */
export function verifyStore(store: Store, options: { deep?: boolean } = {}): VerifyReport {
  const deep = Boolean(options.deep);
  const problems: VerifyProblem[] = [];
  const referenced = new Set<string>();
  let items = 0;
  const counted = new TotalsTally();
  const setAside = setAsideDigests(store.layout);
  // One read transaction: the running totals compared are of the items read.
  const running = store.index.db.transaction(() => {
    for (const entry of store.index.iterateItems()) {
      items++;
      counted.add({ size: entry.size, type: entry.type, inline: entry.inline !== null });
      checkEntry(store, entry, deep, problems, referenced, setAside);
    }
    return runningTypeTotals(store.index.db);
  })();
  problems.push(...totalsProblems(counted.types, running));

  const { blobs, strays } = scanBlobs(store.layout);
  if (deep) {
    for (const blob of blobs) {
      if (sha256Hex(store.blobs.readSync(blob.digest)) !== blob.digest) {
        problems.push({ kind: referenced.has(blob.digest) ? 'hash' : 'corrupt-blob', key: null, path: blob.path, message: `blob ${blob.digest} does not hash to its name` });
      }
    }
  }
  for (const stray of strays) problems.push({ kind: 'stray', key: null, path: stray.path, message: `${stray.path}: ${stray.reason}` });
  const orphans = blobs.filter((blob) => !referenced.has(blob.digest));
  return {
    ok: problems.length === 0,
    deep,
    items,
    blobs: blobs.length,
    orphanBlobs: orphans.length,
    orphanBytes: orphans.reduce((sum, blob) => sum + blob.size, 0),
    tempFiles: scanTemp(store.layout).length,
    problems,
  };
}

/** One index row: its value is there with its recorded size (deep: and hashes to its digest). */
function checkEntry(store: Store, entry: ItemEntry, deep: boolean, problems: VerifyProblem[], referenced: Set<string>, setAside: Set<string>): void {
  if (!isDigest(entry.sha256)) {
    problems.push({ kind: 'bad-digest', key: entry.key, path: null, message: `key '${entry.key}': recorded digest is not a SHA-256 hex string` });
    return;
  }
  if (entry.inline) {
    if (entry.inline.length !== entry.size) problems.push({ kind: 'size', key: entry.key, path: null, message: `key '${entry.key}': inline value is ${entry.inline.length} bytes, recorded ${entry.size}` });
    else if (deep && sha256Hex(entry.inline) !== entry.sha256) problems.push({ kind: 'hash', key: entry.key, path: null, message: `key '${entry.key}': inline value does not hash to ${entry.sha256}` });
    return;
  }
  referenced.add(entry.sha256);
  const file = blobPath(store.layout, entry.sha256);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    const hint = setAside.has(entry.sha256) ? ` (an interrupted gc left it in tmp/: 'bwrite gc' puts it back)` : '';
    problems.push({ kind: 'missing', key: entry.key, path: file, message: `key '${entry.key}': blob ${entry.sha256} is missing${hint}` });
    return;
  }
  if (!stat.isFile()) problems.push({ kind: 'missing', key: entry.key, path: file, message: `key '${entry.key}': blob ${entry.sha256} is not a regular file` });
  else if (stat.size !== entry.size) problems.push({ kind: 'size', key: entry.key, path: file, message: `key '${entry.key}': blob ${entry.sha256} is ${stat.size} bytes, recorded ${entry.size}` });
}

/** Where the running totals `stats` shows disagree with the items counted. */
function totalsProblems(counted: Map<string, TypeCounts>, running: Map<string, TypeCounts>): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const none: TypeCounts = { items: 0, bytes: 0, inlineItems: 0 };
  for (const type of new Set([...counted.keys(), ...running.keys()])) {
    const want = counted.get(type) ?? none;
    const have = running.get(type) ?? none;
    if (want.items === have.items && want.bytes === have.bytes && want.inlineItems === have.inlineItems) continue;
    problems.push({
      kind: 'totals',
      key: null,
      path: null,
      message: `type '${type}': the totals stats shows say ${have.items} items of ${have.bytes} bytes (${have.inlineItems} inline), the index holds ${want.items} of ${want.bytes} (${want.inlineItems} inline); 'bwrite gc' counts them again`,
    });
  }
  return problems;
}

