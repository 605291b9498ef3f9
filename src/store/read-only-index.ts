import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { BwriteError } from '../errors.js';
import { SCHEMA_VERSION, schemaVersion } from './schema.js';

// `immutable=1` below is a URI parameter, and better-sqlite3 lets SQLite parse `file:` names only
// when this is set as its addon loads. bwrite's own paths are absolute: none starts with `file:`.
if (process.env.SQLITE_USE_URI === undefined) process.env.SQLITE_USE_URI = '1';

/** What identifies one state of index.db on disk: any write to it changes the times. */
export interface FileStamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export interface ReadOnlyIndex {
  db: Database.Database;
  /** Set when index.db is read without SQLite's locks: its state when it was opened. */
  lockless: FileStamp | null;
}

export interface ReadOnlyOptions {
  busyTimeoutMs: number;
  /** Brings an older schema up to date on a read-write connection (what opening for writing does). */
  upgrade: (db: Database.Database) => void;
}

const OPEN_ATTEMPTS = 3;

/**
 * A read-only connection to index.db that creates, changes and removes nothing, also for a user
 * who may not write the store (https://www.sqlite.org/wal.html, "Read-Only Databases"):
 *
 * - With `index.db-wal` present (a writer is running, or one was killed), SQLite reads the log
 *   through `index.db-shm` under its usual locks; a read-only `-shm` is read into memory.
 * - Without it (every connection closed and SQLite removed both files), a read-only connection
 *   would create them, which this user may not do, and the owner would find them left behind.
 *   No log means nothing waits to be copied into index.db, so the file alone is the whole
 *   database: it is opened `immutable`, without locks. A writer that starts meanwhile only
 *   appends to a new log, until a checkpoint copies the log into index.db: `lockless` records
 *   the file's state so that such a change is caught (`stampChanged`) instead of trusted.
 *
 * A schema older than this bwrite's is upgraded first if this user can write the index (what
 * opening it always did); otherwise the store cannot be read, and the error says who can fix it.
 */
export function openReadOnlyIndex(dbPath: string, options: ReadOnlyOptions): ReadOnlyIndex {
  for (let attempt = 1; ; attempt++) {
    let opened: ReadOnlyIndex & { version: number };
    try {
      opened = openOnce(dbPath, options.busyTimeoutMs);
    } catch (error) {
      // The log went away between looking for it and reading through it: look again.
      if (attempt < OPEN_ATTEMPTS && logVanished(dbPath, error)) continue;
      throw error;
    }
    if (opened.version === SCHEMA_VERSION) return opened;
    opened.db.close();
    if (attempt >= OPEN_ATTEMPTS || !indexWritable(dbPath)) throw notUpgraded(dbPath, opened.version);
    withWriter(dbPath, options.busyTimeoutMs, options.upgrade);
  }
}

function openOnce(dbPath: string, busyTimeoutMs: number): ReadOnlyIndex & { version: number } {
  fs.accessSync(dbPath, fs.constants.R_OK);
  let opened: ReadOnlyIndex;
  if (fs.existsSync(`${dbPath}-wal`)) {
    opened = { db: new Database(dbPath, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs }), lockless: null };
  } else {
    const lockless = fileStamp(dbPath);
    try {
      opened = { db: new Database(`${pathToFileURL(dbPath).href}?immutable=1`, { readonly: true, fileMustExist: true }), lockless };
    } catch (error) {
      // Readable, yet not found under its URI: this process loaded better-sqlite3 without URI names.
      if ((error as { code?: string }).code !== 'SQLITE_CANTOPEN') throw error;
      throw new BwriteError('E_STORE', `cannot read ${dbPath} without creating files beside it: better-sqlite3 was loaded with URI filenames off (load bwrite first, or set SQLITE_USE_URI=1)`, { cause: error });
    }
  }
  // Opening reads nothing: this first read is where a missing log index shows.
  try {
    return { ...opened, version: schemaVersion(opened.db, dbPath) };
  } catch (error) {
    opened.db.close();
    const code = (error as { code?: string }).code ?? '';
    if (code === 'SQLITE_CANTOPEN' && fs.existsSync(`${dbPath}-wal`) && !fs.existsSync(`${dbPath}-shm`)) {
      throw new BwriteError('E_STORE', `cannot read ${dbPath}: its log index.db-wal is there without index.db-shm, which this user may not create; run 'bwrite gc' as the store's owner`, { cause: error });
    }
    throw error;
  }
}

function logVanished(dbPath: string, error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN') && !fs.existsSync(`${dbPath}-wal`);
}

function notUpgraded(dbPath: string, version: number): BwriteError {
  const what = version === 0 ? 'holds no bwrite schema yet' : `was made by an older bwrite (schema version ${version}, this one uses ${SCHEMA_VERSION})`;
  return new BwriteError('E_STORE', `${dbPath} ${what} and this user may not upgrade it; run a command that writes, such as 'bwrite gc', as the store's owner`);
}

/**
 * Whether this user may change index.db: the file, its directory (where SQLite creates and
 * removes the log and its index) and those two files when present.
 */
export function indexWritable(dbPath: string): boolean {
  for (const file of [dbPath, path.dirname(dbPath), `${dbPath}-wal`, `${dbPath}-shm`]) {
    try {
      fs.accessSync(file, fs.constants.W_OK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && file !== dbPath) continue;
      return false;
    }
  }
  return true;
}

/** Runs `write` on a short-lived read-write connection, closed (and its log removed, if last) after. */
export function withWriter<T>(dbPath: string, busyTimeoutMs: number, write: (db: Database.Database) => T): T {
  const db = new Database(dbPath, { fileMustExist: true, timeout: busyTimeoutMs });
  try {
    return write(db);
  } finally {
    db.close();
  }
}

export function fileStamp(file: string): FileStamp {
  const stat = fs.statSync(file, { bigint: true });
  return { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs };
}

export function stampChanged(file: string, stamp: FileStamp): boolean {
  let now: FileStamp;
  try {
    now = fileStamp(file);
  } catch {
    return true;
  }
  return now.dev !== stamp.dev || now.ino !== stamp.ino || now.size !== stamp.size || now.mtimeNs !== stamp.mtimeNs || now.ctimeNs !== stamp.ctimeNs;
}
