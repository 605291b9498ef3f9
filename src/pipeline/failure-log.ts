import fs from 'node:fs';
import path from 'node:path';
import type { FailureLine } from '../store/failure-rows.js';

/** One line of the failures file: enough to find the record, understand why, and feed it back. */
export interface FailureEntry {
  source: string;
  line: number | null;
  key: string | null;
  error: string;
  code: string;
  attempts: number;
  /** Byte offset just past the record in its input, to share it with an overlapping run (not written to the file). */
  end?: number;
  /** The run that first read the record (kept through `bwrite retry`); the log fills in its own. */
  run?: string;
  /**
   * The rest of the line as JSON members text: `"record":…` (the parsed record) or `"raw":…` (the
   * text that could not be parsed), and `"rawBase64":…`, the exact bytes of a record that is not
   * valid UTF-8 (`raw` shows them with U+FFFD).
   */
  payload: string;
}

/**
 * A run's failures file (NDJSON, created 0600 on the first failure). Entries are numbered and
 * committed in the index with the batch that passes their lines (`prepare`), and appended here
 * only once that commit succeeded (`append`): an entry whose batch did not commit is in no file,
 * so `--resume` fails its line again without a duplicate. Each line starts with its `entry` id
 * (`<run id>/<seq>`), by which a crashed run's file is completed from the index exactly once.
 */
export class FailureLog {
  readonly path: string;
  count = 0;
  /** False once an append failed: the index then keeps the run's entries for a later import or gc. */
  complete = true;
  private fd: number | null = null;
  private readonly runId: string;
  private readonly durable: boolean;

  constructor(file: string, runId: string, options: { durable?: boolean } = {}) {
    this.path = path.resolve(file);
    this.runId = runId;
    this.durable = options.durable ?? false;
  }

  /**
   * The numbered lines for `entries`, following those appended so far (or, for a batch that
   * commits after others in one transaction, those numbered up to `after`); nothing is written yet.
   */
  prepare(entries: readonly FailureEntry[], after = this.count): FailureLine[] {
    return entries.map((entry, i) => {
      const seq = after + i + 1;
      return { seq, line: failureLine(entry, `${this.runId}/${seq}`, this.runId) };
    });
  }

  /** Appends lines whose batch committed, in one write (with --durable, flushed to disk). */
  append(lines: readonly FailureLine[]): void {
    if (lines.length === 0) return;
    try {
      if (this.fd === null) {
        fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
        this.fd = fs.openSync(this.path, 'a', 0o600);
      }
      fs.writeSync(this.fd, lines.map((line) => line.line + '\n').join(''));
      if (this.durable) fs.fsyncSync(this.fd);
    } catch (error) {
      this.complete = false;
      throw error;
    } finally {
      // Committed in the index either way: the numbers are taken.
      this.count = lines[lines.length - 1]!.seq;
    }
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

/** The JSON text of one failures-file line; `entry` comes first, so even a cut-off line says whose it is. */
function failureLine(entry: FailureEntry, id: string, runId: string): string {
  const { payload, run, end: _, ...about } = entry;
  return `${JSON.stringify({ entry: id, ...about, run: run ?? runId }).slice(0, -1)},${payload}}`;
}
