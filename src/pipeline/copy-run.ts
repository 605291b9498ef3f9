import { BwriteError } from '../errors.js';
import { checkCopy, type CopyCheck } from '../store/copy-check.js';
import type { ItemEntry } from '../store/index-db.js';
import { KeyCursor } from '../store/key-cursor.js';
import { newRunId } from '../store/run-log.js';
import type { Store } from '../store/store.js';
import { BatchWriter } from './batch-writer.js';
import { CopyRun } from './copy-batches.js';
import type { CopyMark, CopyOptions, CopyReport } from './copy-types.js';
import { DEFAULT_RETRY, withRetry } from './retry.js';

export type { CopyProblem, CopyProblemKind } from '../store/copy-check.js';
export { LISTED_PROBLEMS, type CopyCounters, type CopyOptions, type CopyReport } from './copy-types.js';

export const DEFAULT_COPY_BATCH = 500;
/** Batches admitted but not yet committed: source reads go on while the writer commits. */
const BATCHES_AHEAD = 2;

/**
 * Copies every item of `from` into `to`, in key order, a batch per transaction under a run with
 * a lease (rule 3 in store.ts), values over `inlineMax` to blobs first; then checks the copy
 * against the source (`checkCopy`). A key the destination already holds with the same value is
 * left alone; with another value it is replaced; keys only the destination holds stay. A run
 * goes on from where an interrupted copy of the same source committed its last batch.
 */
export async function copyStore(from: Store, to: Store, options: CopyOptions = {}): Promise<CopyReport> {
  const names = { from: storeName(from), to: storeName(to) };
  if (names.from === names.to) throw new BwriteError('E_USAGE', `the source and the destination are the same store (${names.from}): copy into another one`);
  const startedAt = Date.now();
  const runId = newRunId(startedAt);
  const markName = `copy-from:${names.from}`;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const mark = readMark(await to.index.readSetting(markName));
  // A gc killed mid-way may have left blobs this run's rows will name in tmp/: put them back first.
  to.blobs.restoreSetAside();
  const lease = to.newRun({ runId, command: 'copy', startedAt, sources: [names.from] });
  lease.register();
  const writer = new BatchWriter(to, { lease, maxConcurrent: options.maxConcurrent, inlineMax: options.inlineMax, onConflict: 'replace', retry, signal: options.signal });
  const run = new CopyRun(writer, options);
  const resumed = mark.after !== null;
  const checkpoints = to.index.startBackgroundWork(to.durable);
  let report: CopyReport;
  try {
    const finished = await copyItems(from, to, run, { after: mark.after, markName, batchSize: options.batchSize ?? DEFAULT_COPY_BATCH });
    await writer.close();
    await checkpoints.stop();
    let check: CopyCheck | null = null;
    if (finished) {
      await withRetry(() => to.index.writeSetting(markName, JSON.stringify({ after: null } satisfies CopyMark)), retry);
      check = await checkCopy({ from, to }, { readBackAfter: mark.after, skip: run.unreadable, onProblem: (problem) => run.problem(problem) });
    }
    report = run.report({ runId, names, resumed, startedAt, check });
  } catch (error) {
    // Batches already taken in commit first: the run is finished once nothing of it is left to commit.
    await writer.close().catch(() => {});
    await checkpoints.stop();
    lease.finish(run.runTotals(run.report({ runId, names, resumed, startedAt, check: null, status: 'aborted' })));
    throw error;
  }
  lease.finish(run.runTotals(report));
  to.index.checkpoint();
  return report;
}

/** How messages and the run history name a store. */
export function storeName(store: Store): string {
  return store.layout.root;
}

/** The saved mark; one that cannot be read only costs a pass from the first key. */
function readMark(text: string | undefined): CopyMark {
  try {
    const parsed = JSON.parse(text ?? '{}') as Partial<CopyMark> | null;
    return { after: typeof parsed?.after === 'string' ? parsed.after : null };
  } catch {
    return { after: null };
  }
}

/**
 * The copy's pass over the source, a batch at a time; true when it went through to the end. The
 * source is read by one iteration (for the SQLite index, one read transaction: the items as they
 * were when it began), the destination a page at a time beside it.
 */
async function copyItems(from: Store, to: Store, run: CopyRun, at: { after: string | null; markName: string; batchSize: number }): Promise<boolean> {
  const there = new KeyCursor(to.index, at.after);
  const ahead: Promise<void>[] = [];
  let batch: ItemEntry[] = [];
  let bytes = 0;
  const send = async () => {
    ahead.push((await run.send(from, batch, there, at.markName)).committed);
    batch = [];
    bytes = 0;
    if (ahead.length > BATCHES_AHEAD) await ahead.shift();
  };
  for await (const entry of from.index.iterateItems('', at.after) as Iterable<ItemEntry> | AsyncIterable<ItemEntry>) {
    if (run.stopped()) break;
    batch.push(entry);
    bytes += entry.size;
    if (batch.length >= at.batchSize || bytes >= to.blobs.batchMaxBytes) await send();
  }
  if (batch.length > 0 && !run.stopped()) await send();
  await Promise.all(ahead);
  return !run.stopped();
}

