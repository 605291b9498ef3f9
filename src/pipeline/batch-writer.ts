import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DEFAULT_CONCURRENCY, DEFAULT_INLINE_MAX } from '../defaults.js';
import { BwriteError, classifyExhausted, errorCode } from '../errors.js';
import { LatencyHistogram } from '../metrics/histogram.js';
import type { ConflictMode, IndexRow, RowOutcome } from '../store/index-db.js';
import type { FailureLog } from './failure-log.js';
import { keyProblem, typeProblem } from '../store/keys.js';
import { itemProblem } from './item-check.js';
import { appendCommitted, recordFailures, shareOut, type Recorded } from './batch-failures.js';
import type { LeaseHold } from '../store/run-lease.js';
import type { RunTotals } from '../store/run-log.js';
import type { Store } from '../store/store.js';
import { AttemptsError, DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { FdThrottle } from './fd-throttle.js';
import { sha256Hex } from '../sha256.js';
import { Semaphore } from './semaphore.js';
import { CommitQueue, type GroupLimits } from './commit-queue.js';
import { WriterRun, type BlobWritten } from './writer-run.js';
import {
  abortedResult,
  asError,
  failedResult,
  interruptedResult,
  truncate,
  type AlsoCounted,
  type BatchOutcome,
  type BatchWriterOptions,
  type ItemResult,
  type SubmitOptions,
  type SubmittedBatch,
  type WriteItem,
  type WriterStats,
} from './batch-items.js';

export type { BatchOutcome, BatchWriterOptions, ItemOutcome, ItemResult, SubmitOptions, SubmittedBatch, WriteItem, WriterStats } from './batch-items.js';

const TURN_EVERY_MS = 10;

interface Prepared {
  item: WriteItem;
  bytes: Buffer;
  sha256: string;
  inline: boolean;
}

function blobsOf(settled: Settled[]): BlobWritten[] {
  return settled.flatMap((entry) => (entry.ok && !entry.prepared.inline ? [entry.prepared] : []));
}

function bytesOf(settled: Settled[]): number {
  let bytes = 0;
  for (const entry of settled) if (entry.ok) bytes += entry.prepared.bytes.length;
  return bytes;
}

function uncommitted(results: ItemResult[]): BatchOutcome {
  return { results, committed: false, alsoCounted: { read: 0, skipped: 0, failed: 0 }, failures: [] };
}

type Settled = { ok: true; prepared: Prepared; attempts: number; durationMs: number } | { ok: false; result: ItemResult; interrupted?: boolean };

/** A batch being taken in: its items' outcomes, and its hold on the run's lease once it has one. */
interface Intake {
  /** The batch's place in the commit order. */
  seq: number;
  settled: (Settled | Promise<Settled>)[];
  hold: LeaseHold | null;
}

/** A batch whose items are settled, waiting in the commit queue. */
interface ReadyBatch {
  seq: number;
  settled: Settled[];
  items: readonly WriteItem[];
  options: SubmitOptions;
  hold: LeaseHold | null;
}

/** What one batch commits: its rows, and how its items' results follow from the rows' outcomes. */
interface BatchPart {
  rows: IndexRow[];
  options: SubmitOptions;
  resultsAt: (outcomes: RowOutcome[], committedBefore: number) => ItemResult[];
  hold?: LeaseHold | null;
}

/**
 * One bounded-concurrency writer for a whole run. A permit is held for exactly one value write;
 * items are admitted one at a time as permits free up (nothing is spawned up front), and each
 * batch's index rows commit in one transaction, in submission order, after its values are on disk.
 */
export class BatchWriter {
  readonly store: Store;
  readonly maxConcurrent: number;
  readonly inlineMax: number;
  readonly onConflict: ConflictMode;
  readonly retry: RetryPolicy;
  readonly groupCommits: GroupLimits | null;
  readonly latency = new LatencyHistogram();
  readonly totals = { written: 0, skipped: 0, failed: 0, retries: 0, bytes: 0 };
  peakInFlight = 0;
  /** The store-fatal error that stopped this writer (disk full, I/O error…), if any. */
  fatal: Error | null = null;
  /** A batch had an item whose retries the signal cut short: from it on, nothing commits. */
  halted = false;

  private readonly semaphore: Semaphore;
  private readonly throttle: FdThrottle;
  private readonly run: WriterRun;
  private readonly type: string;
  private readonly onRetry?: BatchWriterOptions['onRetry'];
  private readonly signal?: AbortSignal;
  private readonly failures: FailureLog | null;
  private readonly shareInput: boolean;
  private inFlight = 0;
  private lastSeq = 0;
  /**
   * The first batch (in commit order) that may not commit once the store failed: the one that met
   * the error. Batches before it are done, and commit; none after it may, or the watermark would
   * pass over it.
   */
  private stopAt = Infinity;
  private readonly queue: CommitQueue<ReadyBatch, BatchOutcome>;
  private commitTail: Promise<unknown> = Promise.resolve();
  private lastTurn = 0;
  private closed = false;

  constructor(store: Store, options: BatchWriterOptions = {}) {
    this.store = store;
    this.maxConcurrent = options.maxConcurrent ?? DEFAULT_CONCURRENCY;
    this.semaphore = new Semaphore(this.maxConcurrent);
    this.throttle = new FdThrottle(this.semaphore);
    // A store with no place for blobs keeps every value inline, whatever the option says.
    this.inlineMax = store.inlineOnly ? Infinity : (options.inlineMax ?? DEFAULT_INLINE_MAX);
    this.onConflict = options.onConflict ?? 'replace';
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.run = new WriterRun(store, options.lease, () => this.runTotals());
    this.type = options.type ?? 'json';
    const badType = typeProblem(this.type);
    if (badType) throw new BwriteError('E_USAGE', `BatchWriter option type: ${badType}`);
    this.onRetry = options.onRetry;
    this.signal = options.signal;
    this.failures = options.failures ?? null;
    this.shareInput = options.shareInput ?? false;
    this.groupCommits = options.groupCommits ?? null;
    this.queue = new CommitQueue((group) => this.commitGroup(group), this.groupCommits);
  }

  /**
   * `availablePermits` are the permits free now; after EMFILE/ENFILE fewer permits are handed out
   * for a while, so then `inFlight + availablePermits` may be below `maxConcurrent` (never above).
   */
  stats(): WriterStats {
    return { maxConcurrent: this.maxConcurrent, availablePermits: this.semaphore.available, inFlight: this.inFlight };
  }

  /** Writes one item in its own transaction; throws its error when it fails. */
  async writeOne(key: string, value: string | Uint8Array, type?: string): Promise<ItemResult> {
    const [result] = await this.writeBatch([{ key, value, type }]);
    if (result!.failed) throw result!.error;
    return result!;
  }

  /**
   * One result per item, in input order; an item's failure is in its result, never thrown. Items
   * are checked first (a value that is not a string or bytes, 'json' that is not JSON text): a
   * library caller may pass anything, while the CLI's pipeline calls `submit` with parsed JSON.
   */
  async writeBatch(items: readonly WriteItem[]): Promise<ItemResult[]> {
    if (!Array.isArray(items)) throw new TypeError('writeBatch takes an array of { key, value, type? }');
    const rejected = items.map((item: unknown): ItemResult | null => {
      const problem = itemProblem(item, this.type);
      if (!problem) return null;
      this.totals.failed++;
      return failedResult(String((item as { key?: unknown } | null)?.key ?? ''), problem.code, new BwriteError(problem.code, problem.message), 0, 0);
    });
    const accepted = items.filter((_, i) => rejected[i] === null);
    const written = accepted.length > 0 ? (await this.submit(accepted).done).results : [];
    let next = 0;
    return rejected.map((result) => result ?? written[next++]!);
  }

  /** Takes a batch in: returns once admitted is known, and when done (committed or not). */
  submit(items: readonly WriteItem[], options: SubmitOptions = {}): SubmittedBatch {
    if (this.closed) throw new BwriteError('E_USAGE', 'this BatchWriter is closed: make a new one to write more');
    const intake: Intake = { seq: ++this.lastSeq, settled: [], hold: null };
    const admitted = this.admit(items, intake);
    const slot = this.queue.enqueue();
    const done = (async (): Promise<BatchOutcome> => {
      try {
        let values: Settled[];
        try {
          await admitted;
          const { settled } = intake;
          values = settled.some((entry) => entry instanceof Promise) ? await Promise.all(settled) : (settled as Settled[]);
        } catch (error) {
          slot.fail(error);
          throw error;
        }
        slot.ready({ seq: intake.seq, settled: values, items, options, hold: intake.hold }, values.length, bytesOf(values));
        return await slot.outcome;
      } finally {
        if (intake.hold) this.run.release(intake.hold);
      }
    })();
    this.commitTail = done.catch(() => {});
    return { admitted, done };
  }

  /** Batches taken in so far commit as soon as they are ready: their submitter is waiting for them. */
  flushCommits(): void {
    this.queue.flush();
  }

  /**
   * Waits for every batch taken in, then finishes this writer's own run in the history (`ok`, or
   * `partial` when an item failed) and gives up its lease; a lease given in the options is left
   * to its owner. Writing afterwards throws.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.flush();
    await this.commitTail;
    await this.run.close(this.retry);
  }

  private async admit(items: readonly WriteItem[], intake: Intake): Promise<void> {
    const { settled } = intake;
    const hold = await this.takeHold(intake.seq);
    if (typeof hold === 'function') {
      for (const item of items) settled.push(hold(item.key));
      return;
    }
    intake.hold = hold;
    const inlineAtOnce = this.onConflict === 'replace' && !this.store.faults.covers('blob');
    for (const item of items) {
      const prepared = this.prepare(item);
      if ('result' in prepared) {
        settled.push({ ok: false, result: prepared.result });
        continue;
      }
      if (this.fatal) {
        settled.push({ ok: false, result: abortedResult(item.key, this.fatal) });
        continue;
      }
      if (this.halted) {
        settled.push({ ok: false, interrupted: true, result: interruptedResult(item.key, null, 0, 0) });
        continue;
      }
      if (prepared.inline && inlineAtOnce) {
        // Nothing to write before the row commits, nothing to look up, nothing that can fail or be
        // retried: no permit, no promise (garbage on the hot path), and no wait in the latency histogram.
        settled.push({ ok: true, prepared, attempts: 1, durationMs: 0 });
        this.latency.record(0);
      } else {
        await this.semaphore.acquire();
        settled.push(this.writeValue(prepared, hold.since, intake.seq));
      }
      // Small blob files are written synchronously (SYNC_WRITE_MAX in blob-store.ts), so a permit
      // can be taken and given back without the event loop turning: every TURN_EVERY_MS, admission
      // waits for a turn, so that signals, progress and reads are never held up longer than that.
      const now = performance.now();
      if (now - this.lastTurn >= TURN_EVERY_MS) {
        this.lastTurn = now;
        await nextTurn();
      }
    }
  }

  /** The batch's hold on the run's lease, before it writes any blob; if none can be had, each item's outcome. */
  private async takeHold(seq: number): Promise<LeaseHold | ((key: string) => Settled)> {
    try {
      return await this.run.hold(this.retry, { onRetry: (error, retry, delay) => this.noteRetry(error, retry, delay), signal: this.signal });
    } catch (error) {
      const attempts = error instanceof AttemptsError ? error.attempts : 1;
      const cause = error instanceof AttemptsError ? error.cause : error;
      if (error instanceof AttemptsError && error.interrupted) return (key) => ({ ok: false, interrupted: true, result: interruptedResult(key, cause, attempts, 0) });
      if (classifyExhausted(cause) === 'fatal') this.stop(asError(cause), seq);
      return (key) => ({ ok: false, result: failedResult(key, errorCode(cause), asError(cause), attempts, 0) });
    }
  }

  private prepare(item: WriteItem): Prepared | { result: ItemResult } {
    const problem = keyProblem(item.key);
    if (problem) return { result: failedResult(String(item.key), problem.code, new BwriteError(problem.code, problem.message), 0, 0) };
    const value = item.value;
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const sha256 = item.sha256 ?? sha256Hex(bytes);
    return { item, bytes, sha256, inline: bytes.length <= this.inlineMax };
  }

  /**
   * Holds one permit (given back during backoff sleeps) while the value goes to disk; its blob is
   * left with an mtime no earlier than `since`, when the batch's hold on the lease began.
   */
  private async writeValue(prepared: Prepared, since: number, seq: number): Promise<Settled> {
    const start = performance.now();
    this.enter();
    const { store } = this;
    try {
      if (this.onConflict !== 'replace' && store.index.hasKey(prepared.item.key)) {
        return { ok: false, result: this.conflictResult(prepared, performance.now() - start) };
      }
      const { attempts } = await withRetry(
        () => {
          store.faults.check('blob');
          if (!prepared.inline) return store.blobs.write(prepared.sha256, prepared.bytes, since);
          return undefined;
        },
        this.retry,
        {
          onRetry: (error, retry, delay) => this.noteRetry(error, retry, delay),
          signal: this.signal,
          uncounted: (error) => this.throttle.lowered(error),
          beforeSleep: () => this.leave(),
          afterSleep: async () => {
            await this.semaphore.acquire();
            this.enter();
          },
        },
      );
      const durationMs = performance.now() - start;
      this.latency.record(durationMs);
      this.throttle.succeeded();
      return { ok: true, prepared, attempts, durationMs };
    } catch (error) {
      const durationMs = performance.now() - start;
      this.latency.record(durationMs);
      const attempts = error instanceof AttemptsError ? error.attempts : 1;
      if (error instanceof AttemptsError && error.interrupted) {
        return { ok: false, interrupted: true, result: interruptedResult(prepared.item.key, error.cause, attempts, durationMs) };
      }
      const cause = error instanceof AttemptsError ? error.cause : error;
      if (classifyExhausted(cause) === 'fatal') this.stop(asError(cause), seq);
      return { ok: false, result: failedResult(prepared.item.key, errorCode(cause), asError(cause), attempts, durationMs, prepared) };
    } finally {
      this.leave();
    }
  }

  /**
   * Commits batches that were ready at once: in one transaction when they can, each batch's part
   * exactly as if it committed alone; otherwise (a fatal error or an interruption seen, or their
   * transaction failed) one after the other, each with its own retries and failure handling.
   */
  private async commitGroup(group: ReadyBatch[]): Promise<BatchOutcome[]> {
    await this.store.faults.pauseBeforeCommit();
    if (group.length > 1 && !this.fatal && !this.halted && group.every((batch) => batch.hold && !batch.settled.some((entry) => !entry.ok && entry.interrupted))) {
      const together = await this.commitTogether(group);
      if (together) return together;
    }
    const outcomes: BatchOutcome[] = [];
    for (const batch of group) outcomes.push(await this.commit(batch));
    return outcomes;
  }

  /** One attempt at committing the batches in one transaction; null if it rolled back. */
  private async commitTogether(group: ReadyBatch[]): Promise<BatchOutcome[] | null> {
    const holds = group.map((batch) => ({ hold: batch.hold!, blobs: blobsOf(batch.settled) }));
    let recorded: Recorded[];
    try {
      await this.store.blobs.flushDirectories();
      recorded = await this.run.commit(holds, () =>
        this.commitRecorded(
          group.map(({ settled, items, options, hold }) => ({
            rows: this.rowsOf(settled),
            options,
            resultsAt: (outcomes, committedBefore) => shareOut(this.resultsOf(settled, outcomes), items, committedBefore),
            hold,
          })),
        ),
      );
    } catch {
      return null;
    }
    return recorded.map((part, i) => this.committed(part, group[i]!.seq));
  }

  /** Commits the rows of the values that reached disk, in one transaction with the watermark. */
  private async commit(batch: ReadyBatch): Promise<BatchOutcome> {
    const { seq, settled, items, options, hold } = batch;
    if (seq >= this.stopAt) return this.abandon(settled, this.fatal!);
    // Batches commit in input order: once one holds an interrupted item, no later one may commit,
    // or the watermark would pass over it.
    if (settled.some((entry) => !entry.ok && entry.interrupted)) this.halted = true;
    if (this.halted) return this.leaveForResume(settled);
    const rows = this.rowsOf(settled);
    const blobs = blobsOf(settled);
    try {
      await this.store.blobs.flushDirectories();
      const { value: recorded } = await withRetry(
        () => {
          const resultsAt = (outcomes: RowOutcome[], committedBefore: number) => shareOut(this.resultsOf(settled, outcomes), items, committedBefore);
          const transaction = async () => (await this.commitRecorded([{ rows, options, resultsAt, hold }]))[0]!;
          return hold ? this.run.commit([{ hold, blobs }], transaction) : transaction();
        },
        this.retry,
        { onRetry: (error, retry, delay) => this.noteRetry(error, retry, delay), signal: this.signal },
      );
      return this.committed(recorded, seq);
    } catch (error) {
      if (error instanceof AttemptsError && error.interrupted) {
        this.halted = true;
        return this.leaveForResume(settled);
      }
      const attempts = error instanceof AttemptsError ? error.attempts : 1;
      const cause = error instanceof AttemptsError ? error.cause : error;
      if (classifyExhausted(cause) !== 'fatal') return this.commitAsFailed(batch, cause, attempts);
      this.stop(asError(cause), seq);
      return this.abandon(settled, this.fatal!);
    }
  }

  /**
   * The rows could not commit (retries used up, or a permanent error): they fail, and the
   * watermark still has to move past them, or they would be neither stored nor failed.
   */
  private async commitAsFailed(batch: ReadyBatch, cause: unknown, attempts: number): Promise<BatchOutcome> {
    const { seq, settled, items, options } = batch;
    const code = errorCode(cause);
    const failed = settled.map((entry) => (entry.ok ? failedResult(entry.prepared.item.key, code, asError(cause), attempts, entry.durationMs, entry.prepared) : entry.result));
    try {
      const resultsAt = (_: RowOutcome[], committedBefore: number) => shareOut(failed, items, committedBefore);
      const { value: recorded } = await withRetry(async () => (await this.commitRecorded([{ rows: [], options, resultsAt }], { faults: false }))[0]!, this.retry);
      return this.committed(recorded, seq);
    } catch (markError) {
      this.stop(asError(markError instanceof AttemptsError ? markError.cause : markError), seq);
      return this.abandon(settled, this.fatal!);
    }
  }

  /**
   * One attempt at committing batches in one transaction: for each in order, inside it, its rows,
   * its final results, its failure entries (kept in the index until they are in the failures file)
   * and its history counts.
   */
  private commitRecorded(parts: readonly BatchPart[], at: { faults?: boolean } = {}): Promise<Recorded[]> {
    const { store } = this;
    const runId = this.run.runId;
    const batches = parts.map(({ rows, options }) => ({ rows, mode: this.onConflict, runId, watermark: options.watermark ?? null, shareInput: this.shareInput, setting: options.setting ?? null }));
    // Failure entries are numbered on from those of the batches before, not yet appended.
    let numberedAfter: number | undefined;
    return store.index.commitBatches(batches, (i, outcomes, committedBefore) => {
      const { options, resultsAt, hold } = parts[i]!;
      if (hold) this.run.confirm(hold);
      const recorded = recordFailures(store, runId, this.failures, options, resultsAt(outcomes, committedBefore), committedBefore, numberedAfter);
      numberedAfter = recorded.lines.at(-1)?.seq ?? numberedAfter;
      this.countInHistory(recorded.results, recorded.alsoCounted);
      // Last, so that an injected fault rolls back all of the above, as a failed COMMIT would.
      if (at.faults !== false) store.faults.check('index');
      return recorded;
    });
  }

  /** After COMMIT: the failure entries go to the failures file, and the writer counts the results. */
  private committed(recorded: Recorded, seq: number): BatchOutcome {
    if (this.failures && recorded.lines.length > 0) {
      const stop = appendCommitted(this.store, this.run.runId, this.failures, recorded.lines);
      if (stop) this.stop(stop, seq + 1);
    }
    return { ...this.tally(recorded.results), alsoCounted: recorded.alsoCounted, failures: recorded.failures };
  }

  private rowsOf(settled: Settled[]): IndexRow[] {
    const rows: IndexRow[] = [];
    for (const entry of settled) {
      if (!entry.ok) continue;
      const { item, bytes, sha256, inline } = entry.prepared;
      rows.push({
        key: item.key,
        sha256,
        size: bytes.length,
        type: item.type ?? this.type,
        inline: inline ? bytes : null,
        source: item.source ?? null,
        line: item.line ?? null,
        end: item.end ?? null,
        unlessNewer: item.unlessNewer ?? null,
      });
    }
    return rows;
  }

  private countInHistory(results: ItemResult[], alsoCounted: AlsoCounted): void {
    const delta = { read: results.length + alsoCounted.read, written: 0, skipped: alsoCounted.skipped, failed: alsoCounted.failed };
    for (const result of results) delta[result.outcome]++;
    this.store.runs.addCommitted(this.run.runId, delta);
  }

  /** This writer's totals as its own run's history row shows them (a library writer's). */
  private runTotals(): RunTotals {
    const { written, skipped, failed, retries, bytes } = this.totals;
    const ms = (q: number) => {
      const value = this.latency.quantile(q);
      return value === null ? null : Math.round(value * 1000) / 1000;
    };
    return {
      status: this.fatal ? 'aborted' : failed > 0 ? 'partial' : 'ok',
      finishedAt: Date.now(),
      read: written + skipped + failed,
      written,
      skipped,
      failed,
      retries,
      bytes,
      itemsPerSecond: null,
      latencyMs: { p50: ms(0.5), p95: ms(0.95), p99: ms(0.99) },
      peakInFlight: this.peakInFlight,
      failuresFile: null,
    };
  }

  private resultsOf(settled: Settled[], outcomes: RowOutcome[]): ItemResult[] {
    let row = 0;
    return settled.map((entry): ItemResult => {
      if (!entry.ok) return entry.result;
      const outcome = outcomes[row++];
      const { item, bytes, sha256 } = entry.prepared;
      if (outcome === 'conflict') return this.conflictResult(entry.prepared, entry.durationMs, entry.attempts);
      return { key: item.key, outcome: outcome === 'written' ? 'written' : 'skipped', failed: false, sha256, size: bytes.length, attempts: entry.attempts, durationMs: entry.durationMs };
    });
  }

  private tally(results: ItemResult[]): Pick<BatchOutcome, 'results' | 'committed'> {
    for (const result of results) {
      if (result.outcome === 'written') {
        this.totals.written++;
        this.totals.bytes += result.size;
      } else if (result.outcome === 'skipped') this.totals.skipped++;
      else this.totals.failed++;
    }
    return { results, committed: true };
  }

  private abandon(settled: Settled[], fatal: Error): BatchOutcome {
    return uncommitted(settled.map((entry) => (entry.ok ? abortedResult(entry.prepared.item.key, fatal) : entry.result)));
  }

  /** Not committed, and not failed either: the whole batch is left for `--resume`. */
  private leaveForResume(settled: Settled[]): BatchOutcome {
    return uncommitted(settled.map((entry) => (entry.ok ? interruptedResult(entry.prepared.item.key, null, 0, entry.durationMs) : entry.result)));
  }

  private conflictResult(prepared: Prepared, durationMs: number, attempts = 1): ItemResult {
    const { key } = prepared.item;
    if (this.onConflict === 'skip') {
      return { key, outcome: 'skipped', failed: false, sha256: prepared.sha256, size: prepared.bytes.length, attempts, durationMs };
    }
    const error = new BwriteError('E_CONFLICT', `key '${truncate(key)}' is already stored (--on-conflict fail)`);
    return failedResult(key, 'E_CONFLICT', error, attempts, durationMs, prepared);
  }

  /** The store failed at batch `seq`: the run stops, and no batch from `seq` on commits. */
  private stop(error: Error, seq: number): void {
    this.fatal ??= error;
    this.stopAt = Math.min(this.stopAt, seq);
  }

  private noteRetry(error: unknown, retry: number, delay: number): void {
    this.totals.retries++;
    this.onRetry?.(error, retry, delay);
  }

  private enter(): void {
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
  }

  private leave(): void {
    this.inFlight--;
    this.semaphore.release();
  }
}

