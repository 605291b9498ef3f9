import fs from 'node:fs';
import path from 'node:path';
import { BwriteError } from '../errors.js';

/** Where each part of a store lives. Keys never reach a path: only validated digests do. */
export interface StoreLayout {
  root: string;
  indexDb: string;
  blobs: string;
  tmp: string;
  failures: string;
}

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

const DIGEST = /^[0-9a-f]{64}$/;

export function storeLayout(root: string): StoreLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    indexDb: path.join(abs, 'index.db'),
    blobs: path.join(abs, 'blobs'),
    tmp: path.join(abs, 'tmp'),
    failures: path.join(abs, 'failures'),
  };
}

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/** `blobs/3f/3fa9…`; throws for anything that is not a 64-hex digest, wherever it came from. */
export function blobPath(layout: StoreLayout, digest: string): string {
  if (!isDigest(digest)) throw new BwriteError('E_STORE', `refusing blob name '${String(digest).slice(0, 80)}': not a SHA-256 hex digest`);
  return path.join(layout.blobs, digest.slice(0, 2), digest);
}

/**
 * Refuses a path that holds something other than a bwrite store, and (with `mustExist`) a path
 * that holds no store yet. Creates and changes nothing: read-only commands stop here.
 */
export function checkStoreDir(layout: StoreLayout, options: { mustExist: boolean }): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(layout.root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw storeError(layout, error);
  }
  if (options.mustExist && (!stat || !indexDbPresent(layout))) {
    throw new BwriteError('E_STORE', `there is no bwrite store at ${layout.root} (an import creates it); check --store or BWRITE_STORE`);
  }
  if (!stat) return;
  if (!stat.isDirectory()) throw new BwriteError('E_STORE', `${layout.root} is not a directory; choose another --store`);
  let entries: string[];
  try {
    entries = fs.readdirSync(layout.root);
  } catch (error) {
    throw storeError(layout, error);
  }
  if (entries.length > 0 && !entries.includes('index.db')) {
    throw new BwriteError('E_STORE', `${layout.root} is not a bwrite store (no index.db in a non-empty directory); choose another --store`);
  }
}

/** Whether index.db is there; a store this user may not look into is said so, not called missing. */
function indexDbPresent(layout: StoreLayout): boolean {
  try {
    fs.lstatSync(layout.indexDb);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw storeError(layout, error);
  }
}

/**
 * Creates the store's directories private to the owner (the mode is given explicitly, so the
 * umask can only narrow it), and refuses a path that holds something other than a bwrite store.
 */
export function prepareStoreDir(layout: StoreLayout, options: { create?: boolean } = {}): void {
  checkStoreDir(layout, { mustExist: options.create === false });
  // index.db right after the root: a process killed in between leaves an empty directory or a
  // store, never a non-empty directory without index.db, which would be refused as not a store.
  ensurePrivateDir(layout.root, layout);
  if (!fs.existsSync(layout.indexDb)) createPrivateFile(layout.indexDb, layout);
  for (const dir of [layout.blobs, layout.tmp, layout.failures]) {
    ensurePrivateDir(dir, layout);
  }
}

/**
 * A new empty file, exactly 0600 whatever the umask; SQLite gives its -wal and -shm the same mode.
 * Only a file made here is chmodded: the mode of an existing index.db is the owner's choice (read
 * access for a monitoring group), which writing commands keep.
 */
function createPrivateFile(file: string, layout: StoreLayout): void {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw storeError(layout, error);
    // Another process made it first, or a link is in its place (O_EXCL does not follow it).
    if (fs.lstatSync(file).isFile()) return;
    throw new BwriteError('E_STORE', `${file} is not a regular file (a link is in its place)`);
  }
  try {
    fs.fchmodSync(fd, FILE_MODE);
  } catch (error) {
    throw storeError(layout, error);
  } finally {
    fs.closeSync(fd);
  }
}

function ensurePrivateDir(dir: string, layout: StoreLayout): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory()) throw new BwriteError('E_STORE', `${dir} is not a directory (a link or a file is in its place)`);
  } catch (error) {
    if (error instanceof BwriteError) throw error;
    throw storeError(layout, error);
  }
}

export function storeError(layout: StoreLayout, error: unknown): BwriteError {
  const code = (error as NodeJS.ErrnoException).code ?? 'E_STORE';
  const reason = error instanceof Error ? error.message : String(error);
  return new BwriteError('E_STORE', `cannot use the store at ${layout.root}: ${reason}`, { cause: Object.assign(error as object, { code }) });
}
