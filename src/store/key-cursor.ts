import type { ItemIndex } from './backend.js';
import type { ItemEntry } from './index-db.js';

const SURROGATE = /[\ud800-\udfff]/;

/** Items a cursor reads at once: with values up to the inline maximum, a few MiB at most. */
export const KEY_PAGE = 500;

/**
 * The index's key order (bytewise UTF-8, which is code point order). JavaScript compares UTF-16
 * code units, which agrees except where a surrogate pair meets U+E000..U+FFFF: only then the bytes.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (SURROGATE.test(a) || SURROGATE.test(b)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return a < b ? -1 : 1;
}

/**
 * Walks an index's items in key order a page at a time. Each page is read at once, so the index
 * is free again before anything else runs: a SQLite connection serves one statement at a time,
 * and the same index commits a copy's batches between two pages.
 */
export class KeyCursor {
  private page: ItemEntry[] = [];
  private at = 0;
  private ended = false;

  constructor(
    private readonly index: ItemIndex,
    private after: string | null,
    private readonly pageSize = KEY_PAGE,
  ) {}

  /** The item with `key`, or null; the items before it are handed to `passed`. Keys asked must rise. */
  async find(key: string, passed?: (entry: ItemEntry) => void): Promise<ItemEntry | null> {
    for (let entry = await this.current(); entry; entry = await this.current()) {
      const order = compareKeys(entry.key, key);
      if (order > 0) return null;
      this.at++;
      if (order === 0) return entry;
      passed?.(entry);
    }
    return null;
  }

  /** Hands every item left to `passed`. */
  async rest(passed: (entry: ItemEntry) => void): Promise<void> {
    for (let entry = await this.current(); entry; entry = await this.current()) {
      this.at++;
      passed(entry);
    }
  }

  private async current(): Promise<ItemEntry | null> {
    if (this.at < this.page.length) return this.page[this.at]!;
    if (this.ended) return null;
    this.page = await readPage(this.index, this.after, this.pageSize);
    this.at = 0;
    this.ended = this.page.length < this.pageSize;
    if (this.page.length === 0) return null;
    this.after = this.page.at(-1)!.key;
    return this.page[0]!;
  }
}

async function readPage(index: ItemIndex, after: string | null, limit: number): Promise<ItemEntry[]> {
  // The SQLite index iterates synchronously; another may hand items out asynchronously.
  const items = index.iterateItems('', after) as Iterable<ItemEntry> | AsyncIterable<ItemEntry>;
  const page: ItemEntry[] = [];
  if (isIterable(items)) {
    for (const entry of items) {
      page.push(entry);
      if (page.length >= limit) break;
    }
    return page;
  }
  for await (const entry of items) {
    page.push(entry);
    if (page.length >= limit) break;
  }
  return page;
}

function isIterable<T>(items: Iterable<T> | AsyncIterable<T>): items is Iterable<T> {
  return Symbol.iterator in items;
}
