import type { DigestRow } from './index-db.js';
import { isDigest } from './layout.js';
import type { ListedBlob } from './backend.js';
import type { StrayEntry } from './scan.js';
import type { Store } from './store.js';

/** What a walk of the items and blob files reports. */
export interface DigestVisitor {
  /** Every item; `file`, for an item that keeps its value in a blob file, is that file, or null when there is none. */
  item(row: DigestRow, file: ListedBlob | null): void | Promise<void>;
  /** Every blob file, after the items that keep their values in it; `referenced`: there are such items. */
  blob(file: ListedBlob, referenced: boolean): void | Promise<void>;
  /** Whatever is under blobs/ and is not a blob file. */
  stray(entry: StrayEntry): void;
}

/**
 * Every item and every blob file, for gc and verify, in one read of each: the items whose values
 * are in blob files, sorted by digest, merged with the files listed in the same order; then the
 * items whose values are inline, in table order (they name no file, and sorting them would only
 * cost time). Memory holds one row and one fan-out directory's names, whatever the store's size.
 */
export async function walkItemsAndBlobs(store: Store, visitor: DigestVisitor): Promise<void> {
  await mergeByDigest(store.index.iterateBlobRowsByDigest(), store.blobs.list(), visitor);
  for (const row of store.index.iterateInlineRows()) await visitor.item(row, null);
}

/**
 * A merge join of items sorted by digest with the blob files listed in the same order: both are
 * read once, side by side, so finding a missing or unreferenced blob needs neither a set of every
 * digest nor an `lstat` per item. An item with a malformed digest names no file and leaves the
 * walk where it is. The listing is awaited (object storage lists a page per request); the rows
 * are read between its pages, so the caller keeps the index's view open across the awaits.
 */
export async function mergeByDigest(rows: Iterable<DigestRow>, files: AsyncIterator<ListedBlob | StrayEntry>, visitor: DigestVisitor): Promise<void> {
  const walk = new DigestWalk(files, visitor);
  await walk.start();
  for (const row of rows) await walk.item(row);
  await walk.end();
}

class DigestWalk {
  private next: ListedBlob | null = null;
  /** The digest of the items being read, and the file that has it. */
  private digest: string | null = null;
  private file: ListedBlob | null = null;

  constructor(
    private readonly files: AsyncIterator<ListedBlob | StrayEntry>,
    private readonly visitor: DigestVisitor,
  ) {}

  async start(): Promise<void> {
    this.next = await this.nextFile();
  }

  async item(row: DigestRow): Promise<void> {
    if (row.sha256 !== this.digest) {
      if (!isDigest(row.sha256)) {
        await this.visitor.item(row, null);
        return;
      }
      await this.moveTo(row.sha256);
    }
    await this.visitor.item(row, this.file);
  }

  async end(): Promise<void> {
    await this.closeDigest();
    while (this.next) await this.passFile();
  }

  private async moveTo(digest: string): Promise<void> {
    // A bug, not bad data: a file would be judged unreferenced that an item names further on.
    if (this.digest !== null && digest < this.digest) throw new Error(`items are not in digest order: ${digest} after ${this.digest}`);
    await this.closeDigest();
    this.digest = digest;
    while (this.next && this.next.digest < digest) await this.passFile();
    if (this.next && this.next.digest === digest) {
      this.file = this.next;
      this.next = await this.nextFile();
    }
  }

  private async closeDigest(): Promise<void> {
    if (this.file) await this.visitor.blob(this.file, true);
    this.file = null;
  }

  /** A file no item names. */
  private async passFile(): Promise<void> {
    await this.visitor.blob(this.next!, false);
    this.next = await this.nextFile();
  }

  private async nextFile(): Promise<ListedBlob | null> {
    for (;;) {
      const step = await this.files.next();
      if (step.done) return null;
      if (step.value.kind === 'blob') return step.value;
      this.visitor.stray(step.value);
    }
  }
}
