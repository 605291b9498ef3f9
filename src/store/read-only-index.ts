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
  /** This user may write the index: `db` is a read-write connection that `query_only` keeps to reading. */
  mayWrite: boolean;
  /** Set when index.db is read without SQLite's locks: its state when it was opened. */
  lockless: FileStamp | null;
}

export interface ReadOnlyOptions {
  busyTimeoutMs: number;
  /** Brings an older schema up to date (what opening for writing does). */
  upgrade: (db: Database.Database) => void;
}

const OPEN_ATTEMPTS = 3;

/**
 * A connection to index.db for reading, which leaves the store as it found it, also for a user
 * who may not write it (https://www.sqlite.org/wal.html, "Read-Only Databases"):
 *
 * - A user who may write the index gets a read-write connection with `query_only` on: SQLite takes
 *   its usual locks and removes the -wal and -shm it creates when the last connection closes (a
 *   read-only connection would create them as well, and leave them behind). A schema older than
 *   this bwrite's is upgraded first, as opening a store always did.
 * - Otherwise, with index.db-wal present (a writer is running, or one was killed), a read-only
 *   connection reads the log under SQLite's locks; a read-only -shm is read into memory.
 * - Otherwise (every connection closed, and SQLite removed both files) a read-only connection would
 *   have to create them, which this user may not. No log means nothing waits to be copied into
 *   index.db: the file alone is the database, opened `immutable`, without locks. A writer that
 *   starts meanwhile appends to a new log until a checkpoint copies it into index.db: `lockless`
 *   keeps the file's state so that such a change is caught (`stampChanged`) instead of trusted.
 */
export function openReadOnlyIndex(dbPath: string, options: ReadOnlyOptions): ReadOnlyIndex {
  fs.accessSync(dbPath, fs.constants.R_OK);
  if (indexWritable(dbPath)) return openQueryOnly(dbPath, options);
  for (let attempt = 1; ; attempt++) {
    try {
      return openWithoutWriting(dbPath, options.busyTimeoutMs);
    } catch (error) {
      // The log went away between looking for it and reading through it: look again.
      if (attempt < OPEN_ATTEMPTS && logVanished(dbPath, error)) continue;
      throw error;
    }
  }
}

function openQueryOnly(dbPath: string, options: ReadOnlyOptions): ReadOnlyIndex {
  const db = new Database(dbPath, { fileMustExist: true, timeout: options.busyTimeoutMs });
  try {
    if (schemaVersion(db, dbPath) !== SCHEMA_VERSION) options.upgrade(db);
    db.pragma('query_only = ON');
  } catch (error) {
    db.close();
    throw error;
  }
  return { db, mayWrite: true, lockless: null };
}

function openWithoutWriting(dbPath: string, busyTimeoutMs: number): ReadOnlyIndex {
  const opened = fs.existsSync(`${dbPath}-wal`)
    ? { db: new Database(dbPath, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs }), lockless: null }
    : openImmutable(dbPath);
  // Opening reads nothing: this first read is where a missing log index shows.
  let version: number;
  try {
    version = schemaVersion(opened.db, dbPath);
  } catch (error) {
    opened.db.close();
    const code = (error as { code?: string }).code ?? '';
    if (code === 'SQLITE_CANTOPEN' && fs.existsSync(`${dbPath}-wal`) && !fs.existsSync(`${dbPath}-shm`)) {
      throw new BwriteError('E_STORE', `cannot read ${dbPath}: its log index.db-wal is there without index.db-shm, which this user may not create; run 'bwrite gc' as the store's owner`, { cause: error });
    }
    throw error;
  }
  if (version !== SCHEMA_VERSION) {
    opened.db.close();
    throw notUpgraded(dbPath, version);
  }
  return { ...opened, mayWrite: false };
}

function openImmutable(dbPath: string): { db: Database.Database; lockless: FileStamp } {
  const lockless = fileStamp(dbPath);
  try {
    return { db: new Database(`${pathToFileURL(dbPath).href}?immutable=1`, { readonly: true, fileMustExist: true }), lockless };
  } catch (error) {
    // Readable, yet not found under its URI: this process loaded better-sqlite3 without URI names.
    if ((error as { code?: string }).code !== 'SQLITE_CANTOPEN') throw error;
    throw new BwriteError('E_STORE', `cannot read ${dbPath} without creating files beside it: better-sqlite3 was loaded with URI filenames off (load bwrite first, or set SQLITE_USE_URI=1)`, { cause: error });
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
function indexWritable(dbPath: string): boolean {
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

function fileStamp(file: string): FileStamp {
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
