/**
 * The store's ordering rules — every writer and cleaner keeps them:
 *
 * 1. Blobs first, index row second. A blob is written to `tmp/`, (with --durable) flushed, and
 *    renamed into `blobs/<2 hex>/<64 hex>`; only then may a transaction commit a row naming it.
 *    So the index never refers to a blob that is not fully on disk; a crash leaves at most an
 *    orphan blob or a temporary file, which `verify` counts and `gc` removes.
 * 2. A blob's name is the SHA-256 of its bytes, never a key; paths are built only from a
 *    validated 64-hex digest, also when the digest is read back from the index.
 * 3. An import registers its run before it writes any blob. `gc` spares every blob modified
 *    after the start of the oldest live import (or its own start), and re-checks a blob after
 *    moving it aside, so it never deletes what a running import is about to refer to. A blob
 *    set aside keeps its digest in its name; gc and import put any such leftover back first.
 * 4. A batch's rows and its source's resume watermark commit in one transaction, and batches
 *    commit in input order: the watermark is always a gap-free prefix of the input.
 */
import fs from 'node:fs';
import { BwriteError } from '../errors.js';
import { sha256Hex } from '../sha256.js';
import { BlobStore } from './blob-store.js';
import { FaultInjector } from './faults.js';
import { IndexDb, type ItemEntry } from './index-db.js';
import { checkStoreDir, prepareStoreDir, storeError, storeLayout, type StoreLayout } from './layout.js';
import { RunLog } from './run-log.js';

export interface StoreOptions {
  /** Flush blobs, their directories and the index to stable storage before a batch counts. */
  durable?: boolean;
  /** Injected faults; defaults to `BWRITE_FAULTS` from the environment. */
  faults?: FaultInjector;
  /** Create the store if it does not exist (the default); false for commands that only read it. */
  create?: boolean;
  /**
   * Open an existing store for reading only, so that a user who may read it but not write it can:
   * no directory is created, no mode changed, nothing written. Only where this user may write the
   * index does it still upgrade an older schema and keep the count `stats` makes (see IndexDb).
   */
  readOnly?: boolean;
}

export class Store {
  readonly layout: StoreLayout;
  readonly blobs: BlobStore;
  readonly index: IndexDb;
  readonly runs: RunLog;
  readonly faults: FaultInjector;
  readonly durable: boolean;

  constructor(layout: StoreLayout, index: IndexDb, options: StoreOptions) {
    this.layout = layout;
    this.durable = options.durable ?? false;
    this.index = index;
    this.blobs = new BlobStore(layout, { durable: this.durable });
    this.runs = new RunLog(index.db);
    this.faults = options.faults ?? FaultInjector.none();
  }

  /**
   * The value's bytes, from the index or from its blob, checked against the recorded size and
   * SHA-256 (hashing costs little next to the read): a damaged or missing value is reported as a
   * store problem (`E_DAMAGED`), never handed out as if it were the value.
   */
  readValue(entry: ItemEntry): Buffer {
    let bytes: Buffer;
    try {
      bytes = entry.inline ?? this.blobs.readSync(entry.sha256);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw damaged(entry, `its blob ${entry.sha256} is missing`, error);
      if (code === 'ELOOP') throw damaged(entry, `its blob ${entry.sha256} is a link, not a file`, error);
      throw error;
    }
    if (bytes.length !== entry.size || sha256Hex(bytes) !== entry.sha256) {
      throw damaged(entry, `its ${entry.inline ? 'inline copy' : 'blob'} does not match its recorded size and SHA-256 ${entry.sha256}`);
    }
    return bytes;
  }

  get(key: string): { entry: ItemEntry; value: Buffer } | undefined {
    const entry = this.index.getItem(key);
    return entry && { entry, value: this.readValue(entry) };
  }

  /** Closes the index; for a read-only store, throws if what was read cannot be trusted (`IndexDb.close`). */
  async close(): Promise<void> {
    this.index.close();
  }
}

function damaged(entry: ItemEntry, what: string, cause?: unknown): BwriteError {
  const key = entry.key.length > 80 ? `${entry.key.slice(0, 80)}…` : entry.key;
  return new BwriteError('E_DAMAGED', `the value of key '${key}' cannot be read: ${what}; the store is damaged, run 'bwrite verify' to list what is affected`, { cause });
}

/** Opens (creating on first use) the store in `dir`; throws an `E_STORE` error it cannot use. */
export async function openStore(dir: string, options: StoreOptions = {}): Promise<Store> {
  const layout = storeLayout(dir);
  if (options.readOnly) checkStoreDir(layout, { mustExist: true });
  else prepareStoreDir(layout, { create: options.create });
  let index: IndexDb;
  try {
    index = new IndexDb(layout.indexDb, { durable: options.durable, readOnly: options.readOnly });
  } catch (error) {
    if (error instanceof BwriteError) throw error;
    throw storeError(layout, error);
  }
  if (!options.readOnly) {
    await fs.promises.access(layout.tmp, fs.constants.W_OK).catch((error: unknown) => {
      index.close();
      throw storeError(layout, error);
    });
  }
  return new Store(layout, index, { ...options, faults: options.faults ?? FaultInjector.fromEnv() });
}

/**
 * What every command that only reads does: opens the store in `dir` read-only, runs `read` on it
 * and closes it: a read that cannot be trusted (`IndexDb.close`) fails, whatever `read` returned
 * or threw.
 */
export async function readStore<T>(dir: string, read: (store: Store) => T | Promise<T>): Promise<T> {
  const store = await openStore(dir, { readOnly: true });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}
