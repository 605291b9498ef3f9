import fs from 'node:fs';
import path from 'node:path';
import { blobPath, DIR_MODE, type StoreLayout } from './layout.js';

// gc moves a blob to tmp/ to re-check it before deleting it: `gc-<digest>.<pid>`.
const SET_ASIDE = /^gc-([0-9a-f]{64})\.\d+$/;

export function setAsidePath(layout: StoreLayout, digest: string): string {
  return path.join(layout.tmp, `gc-${digest}.${process.pid}`);
}

export function isSetAside(file: string): boolean {
  return SET_ASIDE.test(path.basename(file));
}

/** Digests of the blobs that sit in tmp/ because a gc set them aside. */
export function setAsideDigests(layout: StoreLayout): Set<string> {
  const digests = new Set<string>();
  for (const name of readTmp(layout)) {
    const match = SET_ASIDE.exec(name);
    if (match) digests.add(match[1]!);
  }
  return digests;
}

/**
 * A gc killed between setting a blob aside and putting it back leaves the only copy of a blob an
 * index row may name in tmp/. Before anything else decides what is garbage, each such file goes
 * back to its blob path (its name says its digest) unless a blob is there again, in which case
 * the copy is redundant. Putting back an unreferenced blob only makes it garbage again.
 * Returns how many were put back.
 */
export function restoreSetAside(layout: StoreLayout): number {
  let restored = 0;
  for (const name of readTmp(layout)) {
    const match = SET_ASIDE.exec(name);
    if (!match) continue;
    const aside = path.join(layout.tmp, name);
    const blobFile = blobPath(layout, match[1]!);
    if (isFile(blobFile)) {
      fs.rmSync(aside, { force: true });
      continue;
    }
    fs.mkdirSync(path.dirname(blobFile), { recursive: true, mode: DIR_MODE });
    try {
      // Were a blob written there meanwhile, it has the same bytes: replacing it is harmless.
      fs.renameSync(aside, blobFile);
      restored++;
    } catch (error) {
      // Its own gc, still running, put it back or deleted it first.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return restored;
}

/**
 * Moves the blob into tmp/, then deletes it unless it was touched after the cutoff. Killed in
 * between, the blob waits in tmp/ under a name that says its digest: the next gc or import puts
 * it back (restoreSetAside), so it is never lost. Another process may put it back meanwhile.
 */
export function removeAside(layout: StoreLayout, blobFile: string, cutoff: number): boolean {
  const aside = setAsidePath(layout, path.basename(blobFile));
  try {
    fs.renameSync(blobFile, aside);
  } catch {
    return false;
  }
  let mtimeMs: number;
  try {
    mtimeMs = fs.lstatSync(aside).mtimeMs;
  } catch {
    return false;
  }
  if (mtimeMs >= cutoff) {
    try {
      fs.renameSync(aside, blobFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return false;
  }
  fs.rmSync(aside, { force: true });
  return true;
}

function isFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    return false;
  }
}

function readTmp(layout: StoreLayout): string[] {
  try {
    return fs.readdirSync(layout.tmp);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
