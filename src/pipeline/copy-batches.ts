import { readValue, sameValue, type CopyCheck, type CopyProblem } from '../store/copy-check.js';
import type { ItemEntry } from '../store/index-db.js';
import type { KeyCursor } from '../store/key-cursor.js';
import type { RunTotals } from '../store/run-log.js';
import type { Store } from '../store/store.js';
import type { BatchOutcome, WriteItem } from './batch-items.js';
import type { BatchWriter } from './batch-writer.js';
import { LISTED_PROBLEMS, type CopyCounters, type CopyMark, type CopyOptions, type CopyReport } from './copy-types.js';

/** A copy's counts and problems as its batches commit, and how it ends. */
export class CopyRun {
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
