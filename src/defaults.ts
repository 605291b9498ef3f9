// The defaults the CLI shows in --help and the engine falls back to, in a module of their own so
// that `bwrite --version` and `bwrite stats` do not load the write pipeline to print them.

/** Value writes in flight at once (`--concurrency`). */
export const DEFAULT_CONCURRENCY = 10;
/** Values of at most this many bytes are kept inside the index (`--inline-max`). */
export const DEFAULT_INLINE_MAX = 16 * 1024;
/** The largest record accepted, in bytes (`--max-record-size`). */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;
