import fs from 'node:fs';
import path from 'node:path';
import { isDigest, type StoreLayout } from './layout.js';
import { isSetAside } from './set-aside.js';

/** A blob file as its directory lists it; its size and times cost an `lstat` (`statOf`). */
export interface BlobName {
  kind: 'blob';
  digest: string;
  path: string;
}

export interface StrayEntry {
  kind: 'stray';
  path: string;
  reason: string;
}

/**
 * Every blob file under `blobs/` in digest order, and whatever else is there that should not be,
 * listing one fan-out directory at a time: memory holds one directory's names, whatever the
 * store's size. Digests are lowercase hex, so name order is the index's bytewise order.
 */
export function* listBlobFiles(layout: StoreLayout): Generator<BlobName | StrayEntry> {
  for (const fan of sortedEntries(layout.blobs)) {
    const fanPath = path.join(layout.blobs, fan.name);
    if (!fan.isDirectory() || !/^[0-9a-f]{2}$/.test(fan.name)) {
      yield { kind: 'stray', path: fanPath, reason: fan.isSymbolicLink() ? 'a link where a fan-out directory belongs' : 'not a fan-out directory' };
      continue;
    }
    for (const entry of sortedEntries(fanPath)) {
      const filePath = path.join(fanPath, entry.name);
      if (!entry.isFile() || !isDigest(entry.name) || !entry.name.startsWith(fan.name)) {
        yield { kind: 'stray', path: filePath, reason: entry.isSymbolicLink() ? 'a link, not a blob' : 'not a blob name' };
        continue;
      }
      yield { kind: 'blob', digest: entry.name, path: filePath };
    }
  }
}

export interface TempFile {
  path: string;
  size: number;
  mtimeMs: number;
  /** A blob a gc set aside to re-check (`set-aside.ts`), not a file to remove. */
  setAside: boolean;
}

export function scanTemp(layout: StoreLayout): TempFile[] {
  const files: TempFile[] = [];
  for (const entry of readDir(layout.tmp)) {
    const filePath = path.join(layout.tmp, entry.name);
    const stat = statOf(filePath);
    if (stat) files.push({ path: filePath, size: stat.size, mtimeMs: stat.mtimeMs, setAside: isSetAside(filePath) });
  }
  return files;
}

/** The file's `lstat`, or null when it is gone (another process removed it meanwhile). */
export function statOf(file: string): fs.Stats | null {
  try {
    // Without an exception for a missing file: a store that lost its blobs has one per item.
    return fs.lstatSync(file, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

// The merge relies on this order, so it is not left to libuv (whose scandir sorts today): by code
// unit, not localeCompare, the order SQLite's BINARY collation gives hex digests.
function sortedEntries(dir: string): fs.Dirent[] {
  return readDir(dir).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
