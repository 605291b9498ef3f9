import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { FailureLine } from '../store/failure-rows.js';
import type { Store } from '../store/store.js';

/**
 * Completes the failures files of runs that ended without writing out every failure entry they
 * committed (killed between a commit and its append, or unable to write the file): each missing
 * entry is appended once, found by its `entry` id, and the index then lets go of them. Returns how
 * many entries were appended. Runs whose file cannot be written keep their entries for next time.
 */
export async function completeFailureFiles(store: Store): Promise<number> {
  let appended = 0;
  for (const run of store.failureRows.unfinished()) {
    // Under the write lock, so that the run, if it is alive after all, appends nothing more itself.
    if (run.status === 'running' && !store.index.db.transaction(() => store.runs.markCrashed(run.runId)).immediate()) continue;
    const file = run.failuresFile ?? path.join(store.layout.failures, `${run.runId}.ndjson`);
    try {
      appended += await completeFile(file, run.runId, store.failureRows.entries(run.runId));
    } catch {
      continue;
    }
    store.failureRows.forget(run.runId);
  }
  return appended;
}

async function completeFile(file: string, runId: string, entries: FailureLine[]): Promise<number> {
  const present = await entriesIn(file, runId);
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

/**
 * The sequence numbers of `runId`'s entries in the file, read as a stream. A last line cut off by
 * a crash is removed when it is one of this run's (its `entry` id comes first), so that it is
 * written again whole.
 */
async function entriesIn(file: string, runId: string): Promise<Set<number>> {
  const seqs = new Set<number>();
  const prefix = `{"entry":${JSON.stringify(`${runId}/`).slice(0, -1)}`;
  let cut: { at: number; line: string } | null;
  try {
    cut = cutOffLastLine(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return seqs;
    throw error;
  }
  if (cut && cut.line.startsWith(prefix)) fs.truncateSync(file, cut.at);
  const lines = readline.createInterface({ input: fs.createReadStream(file, { end: cut ? cut.at - 1 : undefined }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.startsWith(prefix)) continue;
    const seq = Number(line.slice(prefix.length, line.indexOf('"', prefix.length)));
    if (Number.isInteger(seq)) seqs.add(seq);
  }
  return seqs;
}

const TAIL_BYTES = 64 * 1024;

/** Where the file's last line starts and its beginning, when it has no line end; null when it has one. */
function cutOffLastLine(file: string): { at: number; line: string } | null {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const last = Buffer.alloc(1);
    if (size === 0 || (fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a)) return null;
    const at = lastLineStart(fd, size);
    const head = Buffer.alloc(Math.min(size - at, 256));
    fs.readSync(fd, head, 0, head.length, at);
    return { at, line: head.toString('utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/** The offset just past the file's last line end (0 when it has none), read backwards in slices. */
function lastLineStart(fd: number, size: number): number {
  const slice = Buffer.alloc(TAIL_BYTES);
  for (let end = size; end > 0; end -= TAIL_BYTES) {
    const start = Math.max(0, end - TAIL_BYTES);
    fs.readSync(fd, slice, 0, end - start, start);
    const newline = slice.subarray(0, end - start).lastIndexOf(0x0a);
    if (newline >= 0) return start + newline + 1;
  }
  return 0;
}
