import type { DigestRow } from './index-db.js';
import { isDigest } from './layout.js';
import type { BlobName, StrayEntry } from './scan.js';
import type { Store } from './store.js';

/** What a walk of the items and blob files reports. */
export interface DigestVisitor {
  /** Every item; `file`, for an item that keeps its value in a blob file, is that file, or null when there is none. */
  item(row: DigestRow, file: BlobName | null): void;
  /** Every blob file, after the items that keep their values in it; `referenced`: there are such items. */
  blob(file: BlobName, referenced: boolean): void;
  /** Whatever is under blobs/ and is not a blob file. */
  stray(entry: StrayEntry): void;
}

/**
 * Every item and every blob file, for gc and verify, in one read of each: the items whose values
 * are in blob files, sorted by digest, merged with the files listed in the same order; then the
 * items whose values are inline, in table order (they name no file, and sorting them would only
 * cost time). Memory holds one row and one fan-out directory's names, whatever the store's size.
 */
export function walkItemsAndBlobs(store: Store, visitor: DigestVisitor): void {
  mergeByDigest(store.index.iterateBlobRowsByDigest(), store.blobs.list(), visitor);
  for (const row of store.index.iterateInlineRows()) visitor.item(row, null);
}

/**
 * A merge join of items sorted by digest with the blob files listed in the same order: both are
 * read once, side by side, so finding a missing or unreferenced blob needs neither a set of every
 * digest nor an `lstat` per item. An item with a malformed digest names no file and leaves the
 * walk where it is.
 */
export function mergeByDigest(rows: Iterable<DigestRow>, files: Iterator<BlobName | StrayEntry>, visitor: DigestVisitor): void {
  const walk = new DigestWalk(files, visitor);
  for (const row of rows) walk.item(row);
  walk.end();
}

class DigestWalk {
  private next: BlobName | null;
  /** The digest of the items being read, and the file that has it. */
  private digest: string | null = null;
  private file: BlobName | null = null;

  constructor(
    private readonly files: Iterator<BlobName | StrayEntry>,
    private readonly visitor: DigestVisitor,
  ) {
    this.next = this.nextFile();
  }

  item(row: DigestRow): void {
    if (row.sha256 !== this.digest) {
      if (!isDigest(row.sha256)) {
        this.visitor.item(row, null);
        return;
      }
      this.moveTo(row.sha256);
    }
    this.visitor.item(row, this.file);
  }

  end(): void {
    this.closeDigest();
    while (this.next) this.passFile();
  }

  private moveTo(digest: string): void {
    // A bug, not bad data: a file would be judged unreferenced that an item names further on.
    if (this.digest !== null && digest < this.digest) throw new Error(`items are not in digest order: ${digest} after ${this.digest}`);
    this.closeDigest();
    this.digest = digest;
    while (this.next && this.next.digest < digest) this.passFile();
    if (this.next && this.next.digest === digest) {
      this.file = this.next;
      this.next = this.nextFile();
    }
  }

  private closeDigest(): void {
    if (this.file) this.visitor.blob(this.file, true);
    this.file = null;
  }

  /** A file no item names. */
  private passFile(): void {
    this.visitor.blob(this.next!, false);
    this.next = this.nextFile();
  }

  private nextFile(): BlobName | null {
    for (;;) {
      const step = this.files.next();
      if (step.done) return null;
      if (step.value.kind === 'blob') return step.value;
      this.visitor.stray(step.value);
    }
  }
}
