import fs from 'node:fs';
import path from 'node:path';

/** One line of the failures file: enough to find the record, understand why, and feed it back. */
export interface FailureEntry {
  source: string;
  line: number | null;
  key: string | null;
  error: string;
  code: string;
  attempts: number;
  /** The run that first read the record (kept through `bwrite retry`); the log fills in its own. */
  run?: string;
  record?: unknown;
  raw?: string | null;
  /** The exact bytes of a record that is not valid UTF-8 (`raw` shows them with U+FFFD). */
  rawBase64?: string;
}

/**
 * Appends failed items as NDJSON, created (0600) on the first failure. Each entry is written
 * before the batch holding its line commits, so a crash never loses a failure.
 */
export class FailureLog {
  readonly path: string;
  count = 0;
  private fd: number | null = null;
  private readonly runId: string;

  constructor(file: string, runId: string) {
    this.path = path.resolve(file);
    this.runId = runId;
  }

  write(entry: FailureEntry): void {
    if (this.fd === null) {
      fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
      this.fd = fs.openSync(this.path, 'a', 0o600);
    }
    const { record, raw, rawBase64, ...about } = entry;
    const line = { ...about, run: entry.run ?? this.runId, ...(record !== undefined ? { record } : { raw: raw ?? null }), ...(rawBase64 ? { rawBase64 } : {}) };
    fs.writeSync(this.fd, JSON.stringify(line) + '\n');
    this.count++;
  }

  /** The file's path when anything was written to it, else null. */
  get written(): string | null {
    return this.count > 0 ? this.path : null;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
