import { BwriteError } from '../errors.js';
import { checkCopy, readValue, sameValue, type CopyCheck, type CopyProblem } from '../store/copy-check.js';
import type { ItemEntry } from '../store/index-db.js';
import { KeyCursor } from '../store/key-cursor.js';
import { newRunId, type RunTotals } from '../store/run-log.js';
import type { Store } from '../store/store.js';
import { BatchWriter } from './batch-writer.js';
import type { BatchOutcome, WriteItem } from './batch-items.js';
import { BATCH_MAX_BYTES } from './import-run.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';

export type { CopyProblem, CopyProblemKind } from '../store/copy-check.js';

export interface CopyOptions {
  /** Source items per batch; a batch's rows and the copy's progress commit in one transaction. */
  batchSize?: number;
  /** The most value writes (and source reads) in flight at once. */
  maxConcurrent?: number;
  /** Values up to this size are kept inside the destination's index, the rest in its blobs. */
  inlineMax?: number;
  retry?: Partial<RetryPolicy>;
  /** Aborting it stops the copy between two batches; what committed stays, and a rerun goes on from there. */
  signal?: AbortSignal;
  onProgress?: (counters: CopyCounters) => void;
  /** Each problem as it is found (all of them; the report lists the first LISTED_PROBLEMS). */
  onProblem?: (problem: CopyProblem) => void;
}

export interface CopyCounters {
  /** Source items this run went through, and their bytes. */
  read: number;
  readBytes: number;
  copied: number;
  /** Already in the destination with the same SHA-256, size and type. */
  skipped: number;
  /** Source values that could not be read, and items that could not be written. */
  failed: number;
  /** Bytes of the values copied. */
  bytes: number;
}

export interface CopyReport extends CopyCounters {
  status: 'ok' | 'partial' | 'aborted' | 'interrupted';
  runId: string;
  from: string;
  to: string;
  /** This run went on from where an interrupted copy of the same source stopped. */
  resumed: boolean;
  retries: number;
  /** What the check after the copy found; null when the copy did not get to the end. */
  verified: number | null;
  mismatched: number | null;
  extra: number | null;
  /** The first LISTED_PROBLEMS problems; `failed + mismatched` counts them all. */
  problems: CopyProblem[];
  durationMs: number;
  itemsPerSecond: number;
  /** Why the copy stopped early (the destination failed), or null. */
  error: string | null;
}

export const DEFAULT_COPY_BATCH = 500;
export const LISTED_PROBLEMS = 1000;
/** Batches admitted but not yet committed: source reads go on while the writer commits. */
const BATCHES_AHEAD = 2;

/**
 * Where a copy from one source has got to, kept in the destination (a setting named after the
 * source, saved in each batch's transaction): `after` is the last source key a committed batch
 * went through; null once a run went through to the end, so the next one starts from the first
 * key again (and leaves alone what is already there).
 */
interface CopyMark {
  after: string | null;
}

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
  try {
    const finished = await copyItems(from, to, run, { after: mark.after, markName, batchSize: options.batchSize ?? DEFAULT_COPY_BATCH });
    let check: CopyCheck | null = null;
    if (finished) {
      await withRetry(() => to.index.writeSetting(markName, JSON.stringify({ after: null } satisfies CopyMark)), retry);
      check = await checkCopy({ from, to }, { readBackAfter: mark.after, skip: run.unreadable, onProblem: (problem) => run.problem(problem) });
    }
    const report = run.report({ runId, names, resumed: mark.after !== null, startedAt, check });
    lease.finish(run.runTotals(report));
    return report;
  } catch (error) {
    lease.finish(run.runTotals(run.report({ runId, names, resumed: mark.after !== null, startedAt, check: null, status: 'aborted' })));
    throw error;
  } finally {
    await writer.close();
  }
}

/** How messages and the run history name a store. */
export function storeName(store: Store): string {
  return store.layout.root;
}

function readMark(text: string | undefined): CopyMark {
  if (text === undefined) return { after: null };
  const parsed = JSON.parse(text) as Partial<CopyMark>;
  return { after: typeof parsed.after === 'string' ? parsed.after : null };
}

/**
 * The copy's pass over the source, a batch at a time; true when it went through to the end. The
 * source is read by one iteration (for the SQLite index, one read transaction: the items as they
 * were when it began), the destination a page at a time beside it.
 */
async function copyItems(from: Store, to: Store, run: CopyRun, at: { after: string | null; markName: string; batchSize: number }): Promise<boolean> {
  const there = new KeyCursor(to.index, at.after, at.batchSize);
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
    if (batch.length >= at.batchSize || bytes >= BATCH_MAX_BYTES) await send();
  }
  if (batch.length > 0 && !run.stopped()) await send();
  await Promise.all(ahead);
  return !run.stopped();
}

/** A copy's counts and problems as its batches commit, and how it ends. */
class CopyRun {
  readonly counters: CopyCounters = { read: 0, readBytes: 0, copied: 0, skipped: 0, failed: 0, bytes: 0 };
  /** Keys whose source value could not be read: the check does not list them again. */
  readonly unreadable = new Set<string>();
  private readonly problems: CopyProblem[] = [];
  private mismatched = 0;
  private lostBatch = false;

  constructor(
    private readonly writer: BatchWriter,
    private readonly options: CopyOptions,
  ) {}

  /** Interrupted, or the destination failed, or a batch could not commit: no later batch may. */
  stopped(): boolean {
    return Boolean(this.options.signal?.aborted) || this.writer.fatal !== null || this.writer.halted || this.lostBatch;
  }

  /**
   * One batch: the items not already in the destination are read from the source (checked
   * against their digests) and handed to the writer with the copy's new mark. Resolves once the
   * writer took them in, with a promise of their commit.
   */
  async send(from: Store, entries: ItemEntry[], there: KeyCursor, markName: string): Promise<{ committed: Promise<void> }> {
    const wanted: ItemEntry[] = [];
    let skipped = 0;
    for (const entry of entries) {
      const found = await there.find(entry.key);
      if (found && sameValue(found, entry)) skipped++;
      else wanted.push(entry);
    }
    const items: WriteItem[] = [];
    const unreadable: CopyProblem[] = [];
    const values = await readAll(from, wanted, this.writer.maxConcurrent);
    wanted.forEach((entry, i) => {
      const read = values[i]!;
      if ('problem' in read) unreadable.push({ key: entry.key, problem: 'unreadable-source', message: `the source's value ${read.problem}` });
      else items.push({ key: entry.key, value: read.bytes, type: entry.type, source: entry.source ?? null, line: entry.line ?? null, sha256: entry.sha256 });
    });
    const mark: CopyMark = { after: entries.at(-1)!.key };
    const passed = { read: skipped + unreadable.length, skipped, failed: unreadable.length };
    const submitted = this.writer.submit(items, { setting: { name: markName, value: JSON.stringify(mark) }, alsoCounted: passed });
    await submitted.admitted;
    const readBytes = entries.reduce((sum, entry) => sum + entry.size, 0);
    return { committed: submitted.done.then((outcome) => this.committed(outcome, { entries: entries.length, readBytes, skipped, unreadable })) };
  }

  /** Counts a batch once it committed; one that did not is left for the next run. */
  private committed(outcome: BatchOutcome, passed: { entries: number; readBytes: number; skipped: number; unreadable: CopyProblem[] }): void {
    if (!outcome.committed) {
      this.lostBatch = true;
      return;
    }
    const { counters } = this;
    counters.read += passed.entries;
    counters.readBytes += passed.readBytes;
    counters.skipped += passed.skipped;
    for (const problem of passed.unreadable) {
      this.unreadable.add(problem.key);
      this.fail(problem);
    }
    for (const result of outcome.results) {
      if (result.outcome === 'written') {
        counters.copied++;
        counters.bytes += result.size;
      } else if (result.outcome === 'skipped') counters.skipped++;
      else this.fail({ key: result.key, problem: 'not-written', message: `could not be written: ${result.error?.message ?? result.code}` });
    }
    this.options.onProgress?.({ ...counters });
  }

  private fail(problem: CopyProblem): void {
    this.counters.failed++;
    this.list(problem);
  }

  /** A problem the check found. */
  problem(problem: CopyProblem): void {
    this.mismatched++;
    this.list(problem);
  }

  private list(problem: CopyProblem): void {
    if (this.problems.length < LISTED_PROBLEMS) this.problems.push(problem);
    this.options.onProblem?.(problem);
  }

  report(args: { runId: string; names: { from: string; to: string }; resumed: boolean; startedAt: number; check: CopyCheck | null; status?: CopyReport['status'] }): CopyReport {
    const { counters, writer } = this;
    const durationMs = Math.max(0, Date.now() - args.startedAt);
    const status = args.status ?? this.status(args.check);
    return {
      status,
      runId: args.runId,
      from: args.names.from,
      to: args.names.to,
      resumed: args.resumed,
      ...counters,
      retries: writer.totals.retries,
      verified: args.check?.verified ?? null,
      mismatched: args.check?.mismatched ?? null,
      extra: args.check?.extra ?? null,
      problems: this.problems,
      durationMs,
      itemsPerSecond: durationMs > 0 ? Math.round((counters.read / durationMs) * 1000) : counters.read,
      error: writer.fatal?.message ?? null,
    };
  }

  private status(check: CopyCheck | null): CopyReport['status'] {
    if (this.writer.fatal) return 'aborted';
    if (!check) return 'interrupted';
    return this.counters.failed > 0 || check.mismatched > 0 ? 'partial' : 'ok';
  }

  /** The run's row in the destination's history. */
  runTotals(report: CopyReport): RunTotals {
    const { read, copied, skipped, failed, bytes } = report;
    const latency = (q: number) => {
      const value = this.writer.latency.quantile(q);
      return value === null ? null : Math.round(value * 1000) / 1000;
    };
    return {
      status: report.status,
      finishedAt: Date.now(),
      read,
      written: copied,
      skipped,
      failed,
      retries: report.retries,
      bytes,
      itemsPerSecond: report.itemsPerSecond,
      latencyMs: { p50: latency(0.5), p95: latency(0.95), p99: latency(0.99) },
      peakInFlight: this.writer.peakInFlight,
      failuresFile: null,
    };
  }
}

/** The values of `entries`, at most `limit` source reads at once, in order. */
async function readAll(from: Store, entries: ItemEntry[], limit: number): Promise<Awaited<ReturnType<typeof readValue>>[]> {
  const values: Awaited<ReturnType<typeof readValue>>[] = new Array(entries.length);
  let next = 0;
  const reader = async () => {
    for (let i = next++; i < entries.length; i = next++) values[i] = await readValue(from.blobs, entries[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, entries.length) }, reader));
  return values;
}
