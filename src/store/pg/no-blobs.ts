import { BwriteError } from '../../errors.js';
import type { BlobBackend, BlobStat } from '../backend.js';
import type { BlobName, StrayEntry, TempFile } from '../scan.js';

/**
 * The values' place of a PostgreSQL store without `--blobs`: there is none. Every value is kept
 * inline in the index (Store.inlineOnly), so that a store shared by many hosts never depends on one
 * host's disk; gc and verify find no blob here, and a row that names one is reported missing.
 */
export class NoBlobs implements BlobBackend {
  private readonly location: string;

  constructor(location: string) {
    this.location = location;
  }

  async write(): Promise<void> {
    throw this.none();
  }

  async refresh(): Promise<void> {
    throw this.none();
  }

  async flushDirectories(): Promise<void> {}

  async read(digest: string): Promise<Buffer> {
    return this.readSync(digest);
  }

  readSync(digest: string): Buffer {
    throw Object.assign(new Error(`no blob ${digest}: ${this.location} keeps every value in its index`), { code: 'ENOENT' });
  }

  locationOf(digest: string): string {
    return `${this.location} (blob ${digest}, none kept)`;
  }

  stat(): BlobStat | null {
    return null;
  }

  *list(): Iterator<BlobName | StrayEntry> {}

  removeUnlessTouchedSince(): boolean {
    return false;
  }

  restoreSetAside(): number {
    return 0;
  }

  setAsideDigests(): Set<string> {
    return new Set();
  }

  listTemp(): TempFile[] {
    return [];
  }

  removeTemp(): void {}

  private none(): BwriteError {
    return new BwriteError('E_STORE', `${this.location} keeps every value in its index and has no place for blobs`);
  }
}
