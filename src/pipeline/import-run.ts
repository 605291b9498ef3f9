import { unsafeNumbersAsStrings } from '../input/exact-numbers.js';
import type { LineBuffers } from '../input/line-buffers.js';
import type { FailureEvent, ReadEvent } from '../input/records.js';
import { errorMessage } from '../errors.js';
import { BATCH_MAX_BYTES } from '../store/backend.js';
import type { Watermark, WatermarkState } from '../store/index-db.js';
import type { BatchOutcome, BatchWriter, ItemResult, WriteItem } from './batch-writer.js';
import type { AlsoCounted } from './batch-items.js';
import type { FailureEntry } from './failure-log.js';
import { AsideRecords } from './aside-records.js';
import { WrongFormatError } from '../input/format-guard.js';

/** One input as the pipeline sees it: named records, and where an earlier run left off. */
export interface RunInput {
  name: string;
  id: string;
  /** What the watermark records to recognise the input, once its first `committed` bytes are committed. */
  identity: (committed: number) => Pick<Watermark, 'dev' | 'ino' | 'fingerprint' | 'fingerprintLen'>;
  /** Records that start at or before this line were committed by an earlier run (`--resume`). */
  resumeAfterLine: number;
  /** Where the committed prefix ends in bytes; records that end there or before were committed. */
  resumeAfterByte: number;
  /** Set (by the reader, before its first record) when records may share a line (JSON text): they are skipped by offset, not line. */
  byOffset: { on: boolean };
  /** The earlier watermark of this input that does not describe it (replaced or truncated): its own replaces it. */
  supersedes: WatermarkState | null;
  /**
   * Set when `events` start past the committed prefix (a file read on from its watermark): the
   * prefix's lines, and its records, which count as read and skipped as if they had been read.
   */
  prefix?: { line: number; records: number } | null;
  events: AsyncIterable<ReadEvent[]>;
}

export interface ImportRunOptions {
  batchSize: number;
  /** Stop reading once this many items have failed. */
  maxErrors: number | null;
  /** Aborting it stops reading; what was read is still written and committed. */
  signal?: AbortSignal;
  onFailure?: (entry: FailureEntry) => void;
  onProgress?: (counters: RunCounters) => void;
  /**
   * Set (with --resume): an input's last line that has no line end yet and does not parse — or
   * any such CSV row, which parses however it was cut — is a record still being written (a
   * growing log), so it is left for the next run and reported here, instead of failing (or being
   * stored cut short) now. So is JSON text that ends inside a value or its array (`value`).
   */
  onIncompleteLastLine?: (source: string, line: number, what: 'line' | 'value') => void;
  /** Where the readers keep lines: a batch's values go back once it is done, skipped ones at once. */
  lineBuffers?: LineBuffers;
}

export interface RunCounters {
  read: number;
  written: number;
  skipped: number;
  failed: number;
}

export type RunStatus = 'ok' | 'partial' | 'aborted' | 'interrupted';

export interface RunOutcome {
  status: RunStatus;
  counters: RunCounters;
  /** Why the run stopped early, if it did. */
  stoppedBy: 'max-errors' | 'store' | 'signal' | 'format' | null;
  fatal: Error | null;
  /** The input that plainly is not in its format (`format`): nothing of it was written. */
  wrongFormat: WrongFormatError | null;
}

// Batches taken in but not yet committed: enough to keep every permit busy while the oldest
// batch waits for its slowest item, few enough that memory stays bounded.
function outstandingLimit(writer: BatchWriter, batchSize: number): number {
  return Math.max(4, 2 * Math.ceil(writer.maxConcurrent / batchSize) + 2);
}

/** Batches taken in but not yet committed, their values' bytes, and the reader failures they carry. */
class Outstanding {
  private readonly batches: { done: Promise<void>; finished: boolean }[] = [];
  private pending = 0;
  private bytes = 0;
  private readonly failures = { count: 0, bytes: 0 };
  private readonly limit: number;
  private readonly group: { batches: number; bytes: number };

  constructor(writer: BatchWriter | null, batchSize: number) {
    this.limit = writer ? outstandingLimit(writer, batchSize) : 0;
    // With group commits, the reader may run ahead by a group of small values (or more: GroupLimits.ahead), so that a group fills.
    const limits = writer?.groupCommits;
    const ahead = limits?.ahead ?? 1;
    this.group = limits ? { batches: ahead * Math.ceil(limits.rows / batchSize), bytes: ahead * limits.bytes } : { batches: 0, bytes: 0 };
  }

  add(done: Promise<void>, bytes: number, failures: { count: number; bytes: number }): void {
    this.pending++;
    this.bytes += bytes;
    this.failures.count += failures.count;
    this.failures.bytes += failures.bytes;
    const entry = { done, finished: false };
    entry.done = done.finally(() => {
      entry.finished = true;
      this.pending--;
      this.bytes -= bytes;
      this.failures.count -= failures.count;
      this.failures.bytes -= failures.bytes;
    });
    this.batches.push(entry);
  }

  /** Waits for the oldest batches while more are uncommitted than the limits allow. */
  async bound(writer: BatchWriter): Promise<void> {
    while (this.batches[0]?.finished) await this.batches.shift()!.done;
    // Reader failures wait, with their text, no longer in a group than they would alone (see ASIDE_FAILURES_MAX).
    if (this.failures.count >= ASIDE_FAILURES_MAX || this.failures.bytes >= ASIDE_BYTES_MAX) writer.flushCommits();
    while (this.pending > this.limit && (this.pending > this.group.batches || this.bytes > this.group.bytes)) {
      // The reader waits for the writer: what is ready commits now, not after a group's wait.
      writer.flushCommits();
      await this.batches.shift()!.done;
    }
  }

  async all(): Promise<void> {
    await Promise.all(this.batches.map((batch) => batch.done));
  }
}


/**
 * Reader failures wait, with their text, for the commit that passes their lines: in groups this
 * small they are gone before V8 moves them to its old generation, whose growth between full
 * collections would otherwise make an input where every record fails peak well above one where
 * every record is stored.
 */
const ASIDE_FAILURES_MAX = 100;
const ASIDE_BYTES_MAX = 1024 * 1024;

/** An item as the run keeps it: also the run that first read it, for its failures-file entry. */
type RunItem = WriteItem & { run?: string };

const STOPPED = Symbol('stopped');
const IDLE = Symbol('idle');

/** A batch that waits this long for more input is written anyway: `tail -f log | bwrite import -` commits as it goes. */
export const IDLE_FLUSH_MS = 1000;

/**
 * The iterator's next value, or STOPPED as soon as the signal aborts. (Not a Promise.race with one
 * long-lived promise: every race would stay attached to it, and keep each chunk of records alive.)
 */
function nextUnlessStopped<T>(iterator: AsyncIterator<T>, signal: AbortSignal | undefined): Promise<IteratorResult<T> | typeof STOPPED> {
  if (!signal) return iterator.next();
  if (signal.aborted) return Promise.resolve(STOPPED);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(STOPPED);
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The iterator's next value as nextUnlessStopped gives it; if it takes longer than IDLE_FLUSH_MS
 * and `flush` is given (a batch is pending), the batch is flushed meanwhile.
 */
async function nextFlushingWhenIdle<T>(iterator: AsyncIterator<T>, signal: AbortSignal | undefined, flush: (() => Promise<void>) | null): Promise<IteratorResult<T> | typeof STOPPED> {
  const next = nextUnlessStopped(iterator, signal);
  if (!flush) return next;
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<typeof IDLE>((resolve) => (timer = setTimeout(resolve, IDLE_FLUSH_MS, IDLE)));
  const first = await Promise.race([next, idle]).finally(() => clearTimeout(timer));
  if (first !== IDLE) return first;
  await flush();
  return next;
}

/**
 * Reads every input, chunks its records into batches and feeds them through the one writer.
 * Batches never span inputs. A dry run (`writer` null) only reads, keys and counts.
 */
export async function runImport(writer: BatchWriter | null, inputs: AsyncIterable<RunInput>, options: ImportRunOptions): Promise<RunOutcome> {
  const counters: RunCounters = { read: 0, written: 0, skipped: 0, failed: 0 };
  const state: { stoppedBy: RunOutcome['stoppedBy']; wrongFormat: WrongFormatError | null } = { stoppedBy: null, wrongFormat: null };
  const outstanding = new Outstanding(writer, options.batchSize);
  const batchMaxBytes = writer?.store.blobs.batchMaxBytes ?? BATCH_MAX_BYTES;
  const giveBack = (items: RunItem[]) => {
    if (options.lineBuffers) for (const item of items) options.lineBuffers.release(item.value);
  };

  // Failure entries reach the failures file with the commit that passes their lines (BatchWriter).
  const fail = (entry: FailureEntry) => options.onFailure?.(entry);
  // Reader failures waiting for the batch that commits past them (see `flush`): --max-errors counts them already.
  let failedUncommitted = 0;
  const shouldStop = (): boolean => {
    if (state.stoppedBy) return true;
    if (writer?.fatal) state.stoppedBy = 'store';
    else if (options.signal?.aborted) state.stoppedBy = 'signal';
    else if (options.maxErrors !== null && counters.failed + failedUncommitted >= options.maxErrors) state.stoppedBy = 'max-errors';
    return state.stoppedBy !== null;
  };

  for await (const input of inputs) {
    if (shouldStop()) break;
    let batch: RunItem[] = [];
    let batchBytes = 0;
    // lastLine is where the watermark may go: the last line batched or failed for good; records
    // counts every record up to it, from the start of the input (the watermark's `records`).
    let lastLine = 0;
    let lastEnd = 0;
    let lastSeen = input.prefix?.line ?? 0;
    let lastSeenEnd = input.prefix ? input.resumeAfterByte : 0;
    let flushedEnd = 0;
    let records = input.prefix?.records ?? 0;
    let lastRecords = records;
    // Records read since the last flush that never reach the writer (skipped by --resume, or failed
    // in the reader), and the failures to record for them: like the writer's own outcomes, they
    // count, and go to the failures file, once the batch that carries them commits past their
    // lines. A batch left uncommitted (a signal, a store failure) leaves them for --resume to
    // read again, so a bad line is never in two runs' failures files.
    const aside = new AsideRecords(Math.min(options.batchSize, ASIDE_FAILURES_MAX), ASIDE_BYTES_MAX);
    const countAside = (outcome: 'skipped' | 'failed', failure?: FailureEntry, bytes?: number) => {
      counters.read++;
      aside.add(outcome, failure, bytes);
      if (failure) failedUncommitted++;
    };
    if (input.prefix) {
      counters.read += input.prefix.records;
      aside.skip(input.prefix.records);
    }

    const flush = async (): Promise<void> => {
      const advanced = lastEnd !== flushedEnd;
      if (!advanced && aside.empty) return;
      const items = batch;
      const bytes = batchBytes;
      const { counts: alsoCounted, failures: readerFailures, bytes: failureBytes } = aside.take();
      batch = [];
      batchBytes = 0;
      flushedEnd = lastEnd;
      const settleAside = (committed: AlsoCounted | null) => {
        failedUncommitted -= readerFailures.length;
        if (!committed) return;
        counters.skipped += committed.skipped;
        counters.failed += committed.failed;
      };
      if (!writer) {
        for (const entry of readerFailures) fail(entry);
        settleAside(alsoCounted);
        counters.written += items.length;
        giveBack(items);
        return;
      }
      // Only --resume skips or an E_READ since the last flush: their counts commit, the watermark stays.
      const watermark: Watermark | null = advanced ? { name: input.id, ...input.identity(lastEnd), line: lastLine, bytes: lastEnd, records: lastRecords, supersedes: input.supersedes } : null;
      const itemFailures = (results: ItemResult[]) => itemFailureEntries(results, items);
      const submitted = writer.submit(items, { watermark, alsoCounted, readerFailures, itemFailures });
      outstanding.add(
        submitted.done.then((outcome) => {
          settleAside(outcome.committed ? outcome.alsoCounted : null);
          for (const entry of outcome.failures) fail(entry);
          account(outcome, counters);
          giveBack(items);
        }),
        bytes,
        { count: readerFailures.length, bytes: failureBytes },
      );
      await submitted.admitted;
      await outstanding.bound(writer);
    };

    // An input that waits for more (a growing log): what it gave commits now, not with what follows.
    const flushIdle = async (): Promise<void> => {
      await flush();
      writer?.flushCommits();
    };

    const iterator = input.events[Symbol.asyncIterator]();
    reading: for (;;) {
      // A read may wait for ever (a stdin whose writer hangs): a signal must not wait for it.
      let next: IteratorResult<ReadEvent[]> | typeof STOPPED;
      try {
        next = await nextFlushingWhenIdle(iterator, options.signal, batch.length > 0 || !aside.empty ? flushIdle : null);
      } catch (error) {
        if (error instanceof WrongFormatError) {
          // Nothing of this input reached a batch: the run stops as a usage error, with its hint.
          state.stoppedBy = 'format';
          state.wrongFormat = error;
          break;
        }
        // The input itself broke (damaged gzip, an I/O error): what was read stays, the rest of
        // this input is one failure, and the run goes on with the next input.
        // The watermark stays before it: once the file is whole (a download completed in place),
        // --resume reads on from there. It ends past the last record seen: an overlapping run that
        // committed further has it.
        countAside('failed', { source: input.name, line: lastSeen + 1, end: lastSeenEnd + 1, key: null, error: readErrorMessage(error), code: 'E_READ', attempts: 0, payload: rawPayload(null) });
        break;
      }
      if (next === STOPPED || next.done) {
        if (next === STOPPED) void iterator.return?.();
        break;
      }
      for (const event of next.value) {
        if (shouldStop()) break reading;
        lastSeen = event.line;
        lastSeenEnd = event.end;
        if (event.unterminated && options.onIncompleteLastLine) {
          options.onIncompleteLastLine(input.name, event.line, event.kind === 'failure' && event.rest ? 'value' : 'line');
          if (event.kind === 'record') options.lineBuffers?.release(event.value);
          continue;
        }
        if (input.byOffset.on ? event.end <= input.resumeAfterByte : event.line <= input.resumeAfterLine) {
          records++;
          countAside('skipped');
          if (event.kind === 'record') options.lineBuffers?.release(event.value);
          continue;
        }
        records++;
        if (event.kind === 'failure') {
          countAside('failed', failureEntry(input.name, event), (event.raw?.length ?? 0) + (event.rawBytes?.length ?? 0));
          // Not left for later (no --resume), but kept behind the watermark all the same.
          if (event.unterminated || event.rest) continue;
          lastLine = event.endLine ?? event.line;
          lastEnd = event.end;
          lastRecords = records;
          // Flushed like a batch, or an input where nothing has a key (a wrong --key) is held whole.
          if (aside.full) await flush();
        } else {
          counters.read++;
          lastLine = event.endLine ?? event.line;
          lastEnd = event.end;
          lastRecords = records;
          const { origin } = event;
          batch.push({
            key: event.key,
            value: event.value,
            sha256: event.sha256,
            source: origin?.source ?? input.name,
            line: origin ? origin.line : event.line,
            end: event.end,
            run: origin?.run,
            unlessNewer: origin?.run && origin.runInfo ? { run: origin.run, ...origin.runInfo, source: origin.source, line: origin.line } : undefined,
          });
          batchBytes += event.value.length;
          if (batch.length >= options.batchSize || batchBytes >= batchMaxBytes) await flush();
        }
      }
      options.onProgress?.(counters);
    }
    await flush();
  }
  writer?.flushCommits();
  await outstanding.all();
  shouldStop();
  options.onProgress?.(counters);

  const fatal = writer?.fatal ?? null;
  const stoppedBy = fatal ? 'store' : state.stoppedBy;
  const status: RunStatus = stoppedBy === 'signal' ? 'interrupted' : stoppedBy ? 'aborted' : counters.failed > 0 ? 'partial' : 'ok';
  return { status, counters, stoppedBy, fatal, wrongFormat: state.wrongFormat };
}

function account(outcome: BatchOutcome, counters: RunCounters): void {
  if (!outcome.committed) return;
  for (const result of outcome.results) {
    if (result.outcome === 'written') counters.written++;
    else if (result.outcome === 'skipped') counters.skipped++;
    else counters.failed++;
  }
}

function itemFailureEntries(results: ItemResult[], items: RunItem[]): FailureEntry[] {
  const entries: FailureEntry[] = [];
  for (let i = 0; i < results.length; i++) {
    const result = results[i]!;
    if (!result.failed) continue;
    const item = items[i]!;
    entries.push({
      source: item.source ?? '-',
      line: item.line ?? null,
      key: result.key,
      error: result.error?.message ?? 'failed',
      code: result.code ?? 'E_INTERNAL',
      attempts: result.attempts,
      run: item.run,
      payload: recordOrRaw(item.value),
    });
  }
  return entries;
}

function recordOrRaw(value: string | Uint8Array): string {
  const text = typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return rawPayload(text);
  }
  return recordPayload(record, text);
}

/**
 * The entry's `record` as JSON members text, or its `raw` text when the record cannot be written
 * back as JSON exactly: nested too deeply, or holding a number JSON.parse rounded
 * (9007199254740993), which `retry` would otherwise store with the wrong digits. Made at once, so
 * that a failure waiting for its batch to commit holds one string, not the parsed record.
 */
function recordPayload(record: unknown, raw: string | null): string {
  if (raw !== null && unsafeNumbersAsStrings(raw) !== raw) return rawPayload(raw);
  try {
    return `"record":${JSON.stringify(record)}`;
  } catch {
    return rawPayload(raw);
  }
}

function rawPayload(raw: string | null): string {
  return `"raw":${JSON.stringify(raw)}`;
}

function failureEntry(source: string, event: FailureEvent): FailureEntry {
  const where = event.origin ?? { source, line: event.line };
  let payload = event.record !== undefined ? recordPayload(event.record, event.raw ?? null) : rawPayload(event.raw ?? null);
  if (event.rawBytes) payload += `,"rawBase64":${JSON.stringify(event.rawBytes.toString('base64'))}`;
  return { source: where.source, line: where.line, end: event.end, key: event.key, error: event.message, code: event.code, attempts: 0, run: event.origin?.run, payload };
}

function readErrorMessage(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = errorMessage(error);
  return code && code !== 'E_READ' && !message.startsWith(code) ? `cannot read further: ${code}: ${message}` : `cannot read further: ${message}`;
}
