/**
 * Rows a page at a time: `page(last)` returns the rows after `last` (the first page when
 * undefined), in the order the query pages by; an empty page ends the iteration. A page is its
 * own statement, so no transaction stays open while the caller works through the rows.
 */
export function* keysetPages<T>(page: (last: T | undefined) => T[]): IterableIterator<T> {
  let last: T | undefined;
  for (;;) {
    const rows = page(last);
    if (rows.length === 0) return;
    yield* rows;
    last = rows[rows.length - 1];
  }
}

/** A LIKE pattern matching the keys that start with `prefix` ('' matches every key): its wildcards escaped. */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
