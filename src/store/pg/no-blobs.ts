import { BwriteError } from '../../errors.js';
import { BATCH_MAX_BYTES, WithoutLocalFiles, type BlobBackend, type BlobStat, type ListedBlob } from '../backend.js';
import type { StrayEntry } from '../scan.js';

/**
 * The values' place of a PostgreSQL store without `--blobs`: there is none. Every value is kept
 * inline in the index (Store.inlineOnly), so that a store shared by many hosts never depends on one
 * host's disk; gc and verify find no blob here, and a row that names one is reported missing.
 */
export class NoBlobs extends WithoutLocalFiles implements BlobBackend {
  readonly location = 'none';
  readonly removesUnderLock = false;
  readonly batchMaxBytes = BATCH_MAX_BYTES;
  private readonly store: string;

  constructor(store: string) {
    super();
    this.store = store;
  }

  async write(): Promise<void> {
    throw this.none();
  }

  async refresh(): Promise<void> {
    throw this.none();
  }

  async flushDirectories(): Promise<void> {}

  async read(digest: string): Promise<Buffer> {
    throw Object.assign(new Error(`no blob ${digest}: ${this.store} keeps every value in its index`), { code: 'ENOENT' });
  }

  locationOf(digest: string): string {
    return `${this.store} (blob ${digest}, none kept)`;
  }

  async stat(): Promise<BlobStat | null> {
    return null;
  }

  async *list(): AsyncIterator<ListedBlob | StrayEntry> {}

  async remove(): Promise<number> {
    return 0;
  }

  private none(): BwriteError {
    return new BwriteError('E_STORE', `${this.store} keeps every value in its index and has no place for blobs`);
  }
}
