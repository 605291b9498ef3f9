import fs from 'node:fs';
import path from 'node:path';
import type { FailureLine, UnfinishedFailures } from '../store/failure-rows.js';
import type { Store } from '../store/store.js';

/**
 * Completes the failures files of runs that ended without writing out every failure entry they
 * committed (killed between a commit and its append, or unable to write the file): each missing
 * entry is appended once, found by its `entry` id, and the index then lets go of them. Returns how
 * many entries were appended. Runs whose file cannot be written keep their entries for next time.
 */
export function completeFailureFiles(store: Store): number {
  let appended = 0;
  for (const run of store.failureRows.unfinished()) {
    try {
      appended += store.index.inTransaction(() => completeRun(store, run));
    } catch {
      // A busy index, or a file that cannot be written: the entries wait for the next import or gc.
    }
  }
  return appended;
}

/**
 * One run, under the index's write lock: so that two processes completing it at once append each
 * entry once between them, and so that the run, if it is alive after all (it renewed its lease
 * meanwhile), is left alone, and otherwise is marked crashed and appends nothing more itself.
 */
function completeRun(store: Store, run: UnfinishedFailures): number {
  const entries = store.failureRows.entries(run.runId);
  if (entries.length === 0) return 0;
  if (store.runs.isRunning(run.runId) && !store.runs.markCrashed(run.runId)) return 0;
  const file = run.failuresFile ?? path.join(store.layout.failures, `${run.runId}.ndjson`);
  const appended = completeFile(file, run.runId, entries);
  store.failureRows.forget(run.runId);
  return appended;
}

function completeFile(file: string, runId: string, entries: FailureLine[]): number {
  const present = entriesIn(file, runId);
  const missing = entries.filter((entry) => !present.has(entry.seq));
  if (missing.length === 0) return 0;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, missing.map((entry) => entry.line + '\n').join(''));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return missing.length;
}

const CHUNK_BYTES = 1024 * 1024;

/**
 * The sequence numbers of `runId`'s entries in the file, read a chunk at a time. A last line cut
 * off by a crash is removed when it is one of this run's (its `entry` id comes first), so that it is
 * written again whole.
 */
function entriesIn(file: string, runId: string): Set<number> {
  const seqs = new Set<number>();
  const prefix = Buffer.from(`{"entry":${JSON.stringify(`${runId}/`).slice(0, -1)}`);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return seqs;
    throw error;
  }
  try {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let carry = Buffer.alloc(0);
    let offset = 0;
    for (;;) {
      const read = fs.readSync(fd, chunk, 0, CHUNK_BYTES, offset);
      if (read === 0) break;
      offset += read;
      const text = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      const end = text.lastIndexOf(0x0a) + 1;
      for (const line of lines(text.subarray(0, end))) noteSeq(line, prefix, seqs);
      carry = Buffer.from(text.subarray(end));
    }
    // The file does not end with a line end: a crash cut its last line.
    if (carry.length > 0 && carry.subarray(0, prefix.length).equals(prefix)) fs.ftruncateSync(fd, offset - carry.length);
  } finally {
    fs.closeSync(fd);
  }
  return seqs;
}

function* lines(text: Buffer): Generator<Buffer> {
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf(0x0a, start);
    yield text.subarray(start, end);
    start = end + 1;
  }
}

function noteSeq(line: Buffer, prefix: Buffer, seqs: Set<number>): void {
  if (line.length <= prefix.length || !line.subarray(0, prefix.length).equals(prefix)) return;
  const quote = line.indexOf(0x22, prefix.length);
  const seq = Number(line.subarray(prefix.length, quote).toString('latin1'));
  if (Number.isInteger(seq)) seqs.add(seq);
}
