/**
 * The store's ordering rules — every writer and cleaner keeps them:
 *
 * 1. Blobs first, index row second. A blob is written to `tmp/`, (with --durable) flushed, and
 *    renamed into `blobs/<2 hex>/<64 hex>`; only then may a transaction commit a row naming it.
 *    So the index never refers to a blob that is not fully on disk; a crash leaves at most an
 *    orphan blob or a temporary file, which `verify` counts and `gc` removes.
 * 2. A blob's name is the SHA-256 of its bytes, never a key; paths are built only from a
 *    validated 64-hex digest, also when the digest is read back from the index.
 * 3. A run (an import, a retry, a library writer) holds a lease in the index before it writes any
 *    blob: `lease_expires_at`, renewed every quarter of its length by a timer that never keeps the
 *    process alive, and `protect_since`, how old a blob may be that the run can still commit a row
 *    for. protect_since is never later than the start of the run's oldest batch not yet committed
 *    (a batch starts before it writes a blob), nor than the time of the renewal when there is none;
 *    an import sets it to its start when it registers, a library writer to now when it registers
 *    or resumes its run, synchronously, before its first blob. Writing a blob that is already there
 *    refreshes its mtime, or writes it again if it is gone. `gc` spares every blob modified after
 *    the oldest protect_since among unexpired leases (or after its own start), less a clock slack,
 *    and re-checks a blob after moving it aside, so it never deletes what a live run is about to
 *    refer to. A blob set aside keeps its digest in its name; gc and import put any such leftover
 *    back first. A library writer's run is marked finished (protect_since NULL) once it has nothing
 *    outstanding at a renewal, and running again with its next batch.
 *    A lease lapses when its process stops or starves for longer than the lease: `stats` then
 *    shows the run as crashed, and gc may remove blobs of its uncommitted batches. So a batch
 *    commits only if, inside its transaction, the lease has a quarter of its length left and no
 *    check since the batch's blobs were written found it at risk; otherwise the run renews the
 *    lease, refreshes every blob of the batch (writing again any gc removed), and tries again.
 *    Hosts that share a store need clocks that agree to well within a quarter of the lease.
 *    Object storage has no rename and no way to touch an object: there gc removes in groups under
 *    the index's write lock and records each removal, and a batch that finds a removal recorded
 *    since it began writes its blobs again before it commits (gc.ts, WriterRun.confirm).
 * 4. A batch's rows, its source's resume watermark and its failure entries commit in one
 *    transaction, and a run's batches commit in input order: the watermark is always a gap-free
 *    prefix of the input. It only moves forward over the same input: under `--resume`, rows and
 *    failures at lines another run committed meanwhile are skipped, so no line is stored or
 *    failed twice.
 * 5. A failure entry reaches the run's failures file only after its batch committed; the index
 *    keeps it until the run ends, so a crashed run's file is completed from there, once each.
 *    gc prunes old failures files only of runs that hold no lease and have no entries kept.
 * 6. An item leaves the index before its data may go: `delete` removes index rows only (with their
 *    share of the running totals, a batch per transaction, between an import's batches), and
 *    only gc removes a blob, once nothing refers to it, under rule 3.
 *
 * The index and the blobs are reached through `ItemIndex` and `BlobBackend` (backend.ts); each
 * implementation keeps these rules with what its engine offers.
 */
import fs from 'node:fs';
import { BwriteError } from '../errors.js';
import { sha256Hex } from '../sha256.js';
import type { BlobBackend, FailureEntries, ItemIndex, RunHistory } from './backend.js';
import { openBlobs, type BlobHome } from './blob-location.js';
import { BlobStore } from './blob-store.js';
import { FaultInjector } from './faults.js';
import { IndexDb, type ItemEntry } from './index-db.js';
import { checkStoreDir, prepareStoreDir, storeError, storeLayout, type StoreLayout } from './layout.js';
import { DEFAULT_LEASE_MS, MIN_LEASE_MS, RunLease, type RunLeaseOptions } from './run-lease.js';
import { isPgLocation } from './pg/location.js';
import { NoBlobs } from './pg/no-blobs.js';
import { openPgIndex } from './pg/open-pg-index.js';
import type { RunStart } from './run-log.js';

export interface StoreOptions {
  /** Flush blobs, their directories and the index to stable storage before a batch counts. */
  durable?: boolean;
  /** Injected faults; defaults to `BWRITE_FAULTS` from the environment. */
  faults?: FaultInjector;
  /** Create the store if it does not exist (the default); false for commands that only read it. */
  create?: boolean;
  /** How long a run's lease lasts without a renewal (rule 3); renewed every quarter of it. */
  leaseMs?: number;
  /**
   * Open an existing store for reading only, so that a user who may read it but not write it can:
   * no directory is created, no mode changed, nothing written. Only where this user may write the
   * index does it still upgrade an older schema and keep the count `stats` makes (see IndexDb).
   */
  readOnly?: boolean;
  /**
   * `s3://BUCKET/PREFIX`: values over the inline limit go to object storage there, not to blobs/.
   * The store remembers it: later, leaving it out reads from there, and another place is refused.
   */
  blobs?: string;
}

/** What the kind of store decides: where its values go, and whether every value must stay inline. */
interface StoreParts {
  blobBackend?: BlobBackend;
  /** The store has no place for blobs (a PostgreSQL store without --blobs): every value is kept in the index. */
  inlineOnly?: boolean;
  /** The index is shared by many hosts (PostgreSQL): what one host keeps of its inputs is scoped by its name. */
  shared?: boolean;
}

export class Store {
  readonly layout: StoreLayout;
  readonly blobs: BlobBackend;
  readonly index: ItemIndex;
  readonly runs: RunHistory;
  readonly failureRows: FailureEntries;
  readonly faults: FaultInjector;
  readonly durable: boolean;
  readonly leaseMs: number;
  /** Every value is kept in the index, whatever --inline-max says (see StoreParts). */
  readonly inlineOnly: boolean;
  /** See StoreParts.shared. */
  readonly shared: boolean;
  private readonly leases = new Set<RunLease>();

  constructor(layout: StoreLayout, index: ItemIndex, options: StoreOptions & StoreParts) {
    this.layout = layout;
    this.durable = options.durable ?? false;
    this.index = index;
    this.blobs = options.blobBackend ?? new BlobStore(layout, { durable: this.durable });
    this.inlineOnly = options.inlineOnly ?? false;
    this.shared = options.shared ?? false;
    this.runs = index.runs;
    this.failureRows = index.failureRows;
    this.faults = options.faults ?? FaultInjector.none();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** A run's lease, not yet registered (rule 3); the store gives it up when it closes. */
  newRun(run: RunStart, options: Pick<RunLeaseOptions, 'pauseWith'> = {}): RunLease {
    const lease: RunLease = new RunLease(this.runs, run, { ...options, leaseMs: this.leaseMs, onEnd: () => this.leases.delete(lease) });
    this.leases.add(lease);
    return lease;
  }

  /**
   * The value's bytes, from the index or from its blob, checked against the recorded size and
   * SHA-256 (hashing costs little next to the read): a damaged or missing value is reported as a
   * store problem (`E_DAMAGED`), never handed out as if it were the value.
   */
  async readValue(entry: ItemEntry): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = entry.inline ?? (await this.blobs.read(entry.sha256));
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

  async get(key: string): Promise<{ entry: ItemEntry; value: Buffer } | undefined> {
    const entry = this.index.getItem(key);
    return entry && { entry, value: await this.readValue(entry) };
  }

  /**
   * Gives up the leases of runs still open (a library writer with nothing outstanding is marked
   * finished), then closes the index; for a read-only store, throws if what was read cannot be
   * trusted (`IndexDb.close`).
   */
  async close(): Promise<void> {
    for (const lease of [...this.leases]) lease.close();
    this.index.close();
  }
}

function damaged(entry: ItemEntry, what: string, cause?: unknown): BwriteError {
  const key = entry.key.length > 80 ? `${entry.key.slice(0, 80)}…` : entry.key;
  return new BwriteError('E_DAMAGED', `the value of key '${key}' cannot be read: ${what}; the store is damaged, run 'bwrite verify' to list what is affected`, { cause });
}

/**
 * Opens (creating on first use) the store in `dir`, or the PostgreSQL store a `postgres://` URL
 * names; throws an `E_STORE` error it cannot use.
 */
export async function openStore(dir: string, options: StoreOptions = {}): Promise<Store> {
  const { leaseMs } = options;
  if (leaseMs !== undefined && !(Number.isSafeInteger(leaseMs) && leaseMs >= MIN_LEASE_MS)) {
    throw new BwriteError('E_USAGE', `openStore option leaseMs must be a whole number of milliseconds, at least ${MIN_LEASE_MS}, got ${String(leaseMs)}`);
  }
  if (isPgLocation(dir)) return openPgStore(dir, options);
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
  let blobBackend: BlobBackend;
  try {
    blobBackend = await openBlobs(layout, index, { blobs: options.blobs, decides: !options.readOnly && options.create !== false, durable: options.durable ?? false });
  } catch (error) {
    index.close();
    throw error;
  }
  return new Store(layout, index, { ...options, blobBackend, faults: options.faults ?? FaultInjector.fromEnv() });
}

/** A store whose index is in PostgreSQL: its values in object storage, or all inline when it has none. */
async function openPgStore(url: string, options: StoreOptions): Promise<Store> {
  const { index, layout } = openPgIndex(url, { create: !options.readOnly && options.create !== false });
  const inIndex: BlobHome = { name: 'its index (every value inline)', open: () => new NoBlobs(layout.root), holdsBlobs: () => false };
  let blobBackend: BlobBackend;
  try {
    blobBackend = await openBlobs(layout, index, { blobs: options.blobs, decides: !options.readOnly && options.create !== false, durable: options.durable ?? false }, inIndex);
  } catch (error) {
    index.close();
    throw error;
  }
  const faults = options.faults ?? FaultInjector.fromEnv();
  return new Store(layout, index, { ...options, faults, blobBackend, inlineOnly: blobBackend instanceof NoBlobs, shared: true });
}

/**
 * What every command that only reads does: opens the store in `dir` read-only, runs `read` on it
 * and closes it: a read that cannot be trusted (`IndexDb.close`) fails, whatever `read` returned
 * or threw.
 */
export async function readStore<T>(dir: string, read: (store: Store) => T | Promise<T>, options: Pick<StoreOptions, 'blobs'> = {}): Promise<T> {
  const store = await openStore(dir, { readOnly: true, blobs: options.blobs });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}
