/** Codes for a record that cannot be imported; such a record fails alone and is never retried. */
export type RecordErrorCode =
  | 'E_PARSE'
  | 'E_NOT_OBJECT'
  | 'E_KEY_MISSING'
  | 'E_KEY_TOO_LONG'
  | 'E_KEY_INVALID'
  | 'E_INVALID_UTF8'
  | 'E_RECORD_TOO_LARGE'
  | 'E_CSV_COLUMNS'
  | 'E_CSV'
  | 'E_CONFLICT'
  // Library items only: a value that is not a string or bytes, a malformed type tag.
  | 'E_VALUE_INVALID'
  | 'E_TYPE_INVALID';

/** Codes for a command that cannot run at all (`E_DAMAGED`: a stored value fails its check on reading; `E_FORMAT`: an input plainly in another format). */
export type UsageErrorCode = 'E_USAGE' | 'E_INPUT' | 'E_FORMAT' | 'E_STORE' | 'E_DAMAGED';

export type ErrorCode = RecordErrorCode | UsageErrorCode | 'E_INTERNAL';

/** A plain Error with a Node-style `code` and the context a user needs to act on it. */
export class BwriteError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BwriteError';
    this.code = code;
  }
}

/** How a write error is handled: retried, fatal to the whole run, or failing the one item. */
export type ErrorClass = 'transient' | 'fatal' | 'permanent';

/** PostgreSQL's authentication and permission failures: the run cannot go on (exit 3). */
export const PG_DENIED_CODES: readonly string[] = ['28P01', '28000', '42501'];

// E_S3_UNAVAILABLE: object storage answered 500, 503 SlowDown or 429, or the connection was reset,
// refused or timed out; E_S3_DENIED: it refused the credentials or the bucket; E_S3_CONFIG: the
// SDK found no credentials or no region (s3-blobs.ts).
const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'EINTR', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'E_S3_UNAVAILABLE']);
const FATAL = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'E_S3_DENIED', 'E_S3_CONFIG', ...PG_DENIED_CODES]);

/**
 * PostgreSQL's SQLSTATEs worth another attempt: serialization failure, deadlock, too many
 * connections, the server shutting down; class 08 (connection exceptions) is matched by prefix.
 */
const PG_TRANSIENT = new Set(['40001', '40P01', '53300', '57P01']);

/** The code of an error as Node or better-sqlite3 reports it (`SQLITE_BUSY_SNAPSHOT` → `SQLITE_BUSY`). */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'E_INTERNAL';
  if (code.startsWith('SQLITE_')) {
    const base = code.match(/^SQLITE_[A-Z]+/)?.[0] ?? code;
    return base;
  }
  return code;
}

export function classifyError(error: unknown): ErrorClass {
  const code = errorCode(error);
  if (TRANSIENT.has(code) || PG_TRANSIENT.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return 'transient';
  if (FATAL.has(code)) return 'fatal';
  return 'permanent';
}

// A server that still fails once the retries are spent is down, not the item bad: the run ends
// (exit 3), keeping what it committed for --resume, instead of failing every item that follows.
// So is a database connection that keeps being lost (class 08, 57P01, resets and refusals).
const DOWN_WHEN_EXHAUSTED = new Set(['E_S3_UNAVAILABLE', 'ECONNRESET', 'ECONNREFUSED', '57P01']);

/** How an error is handled once the retries it was given are spent (or it had none). */
export function classifyExhausted(error: unknown): ErrorClass {
  const code = errorCode(error);
  return DOWN_WHEN_EXHAUSTED.has(code) || /^08[0-9A-Z]{3}$/.test(code) ? 'fatal' : classifyError(error);
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
