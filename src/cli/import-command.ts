import os from 'node:os';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { readCsv } from '../input/csv-reader.js';
import { readFailures } from '../input/failures-reader.js';
import type { InputEncoding } from '../input/encoding.js';
import { guardFormat } from '../input/format-guard.js';
import { compileKey } from '../input/key.js';
import { LineBuffers } from '../input/line-buffers.js';
import { readNdjson } from '../input/ndjson-reader.js';
import { readJson } from '../input/json-reader.js';
import { sniffFile, sniffStream } from '../input/format-sniff.js';
import type { ReadEvent, ReaderOptions } from '../input/records.js';
import { checkInput, identityAt, openSource, readFrom, type FormatChoice, type InputFormat, type InputSource } from '../input/source.js';
import { BatchWriter } from '../pipeline/batch-writer.js';
import { FailureLog, type FailureEntry } from '../pipeline/failure-log.js';
import { runImport, type RunInput } from '../pipeline/import-run.js';
import type { ConflictMode } from '../store/index-db.js';
import { completeFailureFiles } from '../pipeline/failure-recovery.js';
import type { RunLease } from '../store/run-lease.js';
import { newRunId, storesItems } from '../store/run-log.js';
import { redactLocation } from '../store/pg/location.js';
import { openStore, type Store } from '../store/store.js';
import { checkMetricsFile, writeRunMetrics } from '../metrics/run-metrics.js';
import { startProgress, startSpinner, type ProgressMode } from './progress.js';
import { buildReport, summaryLine, type RunReport } from './run-report.js';
import { interruptedExitCode } from './exit-codes.js';
import { trapSignals } from './signals.js';
import { inputStart, type InputStart, type ReadFrom, type Seek } from './resume-point.js';
import { checkCsvOptions, checkFailuresFile, leaseFromEnv, resolveFormat, validateCombination } from './import-checks.js';
import type { Output } from './output.js';

export interface ImportOptions {
  store: string;
  /** `--blobs`: where values over --inline-max go (s3://BUCKET/PREFIX). */
  blobs?: string;
  format?: FormatChoice;
  key: string;
  concurrency: number;
  batchSize: number;
  retries: number;
  retryDelay: number;
  retryMaxDelay: number;
  onConflict: ConflictMode;
  maxErrors?: number;
  failures?: string;
  resume?: boolean;
  inlineMax: number;
  dryRun?: boolean;
  progress: ProgressMode;
  quiet?: boolean;
  json?: boolean;
  metricsFile?: string;
  durable?: boolean;
  delimiter?: string;
  header: boolean;
  columns?: string[];
  inferTypes?: boolean;
  relaxQuotes?: boolean;
  encoding?: InputEncoding;
  type: string;
  maxRecordSize: number;
  sourceName?: string;
}

const MAX_ERRORS_SHOWN = 10;

/**
 * Batches ready at once commit together, up to this many rows or bytes of values: a transaction
 * dirties each index page it touches once, whatever the number of rows it puts there, so an
 * import into a large store writes and checkpoints far fewer pages. Large values gain little from
 * it (their own pages are most of what is written) and would only be held longer, hence the bytes
 * bound, kept where a fresh-store import peaks no higher than with a transaction per batch
 * (larger groups peak higher: bench/PERFORMANCE.md, Growth). A ready batch waits at most a second
 * for others, so a slow input still commits as it goes.
 */
const GROUP_COMMITS = { rows: 20_000, bytes: 1024 * 1024, waitMs: 1000 };

/**
 * Where a COMMIT leaves the main thread free (PostgreSQL): a transaction costs round trips and a
 * COPY whatever its size, so groups are larger, and the reader fills the next while one commits
 * (2 ahead); a fresh import then peaks under 200 MB (bench/RESULTS.md).
 */
const OFF_THREAD_GROUP_COMMITS = { ...GROUP_COMMITS, bytes: 4 * 1024 * 1024, ahead: 2 };

/** `bwrite import` and `bwrite retry`: returns the exit code. */
export async function importCommand(files: string[], options: ImportOptions, output: Output, command: 'import' | 'retry'): Promise<number> {
  const deriveKey = compileKey(options.key);
  validateCombination(files, options);
  for (const file of files) checkInput(file);
  if (options.metricsFile !== undefined) checkMetricsFile(options.metricsFile);
  if (options.failures !== undefined) checkFailuresFile(options.failures);
  const formats = files.map((file) => (command === 'retry' ? ('ndjson' as const) : resolveFormat(file, options)));
  // retry has no CSV options: commander refuses them as unknown.
  if (command === 'import') checkCsvOptions(formats, options);
  const leaseMs = leaseFromEnv(process.env);

  const startedAt = Date.now();
  const runId = newRunId(startedAt);
  const spinner = options.quiet ? { stop() {} } : await startSpinner(options.progress, output, `opening ${redactLocation(options.store)}`);
  let store: Store | null;
  try {
    store = options.dryRun ? null : await openStore(options.store, { durable: options.durable, leaseMs, blobs: options.blobs });
  } finally {
    spinner.stop();
  }
  // A gc killed mid-way may have left blobs this run's rows will name in tmp/: put them back first.
  if (store) store.blobs.restoreSetAside();
  if (store) completeFailureFiles(store);
  const sources = files.map((file) => (file === '-' ? (options.sourceName ?? '-') : file));
  const failures = store ? new FailureLog(options.failures ?? path.join(store.layout.failures, `${runId}.ndjson`), runId, { durable: options.durable }) : null;
  // Registered with its lease before any blob is written, so that gc spares what it writes.
  const lease = store?.newRun({ runId, command, startedAt, sources, failuresFile: failures?.path }) ?? null;
  lease?.register();
  const checkpoints = store ? store.index.startBackgroundWork(Boolean(options.durable)) : null;

  const controller = new AbortController();
  // Every write sleeping in backoff listens for the signal: there may be --concurrency of them.
  setMaxListeners(0, controller.signal);
  const writer = store
    ? new BatchWriter(store, {
        signal: controller.signal,
        maxConcurrent: options.concurrency,
        inlineMax: options.inlineMax,
        onConflict: options.onConflict,
        retry: { retries: options.retries, baseDelayMs: options.retryDelay, maxDelayMs: options.retryMaxDelay },
        lease: lease ?? undefined,
        type: options.type,
        failures,
        shareInput: Boolean(options.resume) && command === 'import',
        groupCommits: store.index.commitsOffThread ? OFF_THREAD_GROUP_COMMITS : GROUP_COMMITS,
      })
    : null;
  const signals = trapSignals(controller);
  let shown = 0;
  const onFailure = (entry: FailureEntry) => {
    // A system error's message already starts with its code ("EACCES: permission denied…"): say it once.
    const sentence = entry.error.startsWith(`${entry.code}: `) ? entry.error.slice(entry.code.length + 2) : entry.error;
    if (shown++ < MAX_ERRORS_SHOWN) output.error(`${entry.source}:${entry.line ?? '-'}: ${entry.code}: ${sentence}`, { prefix: 'bwrite: ' });
  };
  const opened: InputSource[] = [];
  const progress = await startProgress(options.quiet ? 'none' : options.progress, output, () => ({ sources: opened, writer }));

  const lineBuffers = new LineBuffers();
  const notice = (message: string) => {
    if (!options.quiet) output.error(message, { prefix: 'bwrite: ' });
  };
  const startOf = store ? (source: InputSource, seek: Seek) => inputStart(store, source, { signal: controller.signal, notice }, Boolean(options.resume), seek) : null;
  let outcome;
  try {
    outcome = await runImport(writer, openInputs(files, formats, options, deriveKey, store, opened, command === 'retry', lineBuffers, startOf), {
      batchSize: options.batchSize,
      maxErrors: options.maxErrors ?? null,
      signal: controller.signal,
      onFailure,
      onProgress: (counters) => progress.update(counters),
      lineBuffers,
      onIncompleteLastLine: options.resume
        ? (source, line, what) => {
            const why = what === 'value' ? 'the input ends inside the JSON value or array that starts here, so it may still be being written' : 'the last line has no line end yet, so it may not be a whole record';
            if (!options.quiet) output.error(`${source}:${line}: ${why}; left for the next --resume`, { prefix: 'bwrite: ' });
          }
        : undefined,
    });
  } finally {
    // An interrupted read of standard input is abandoned, not awaited: let the process end.
    if (signals.received() && files.includes('-')) process.stdin.destroy();
    progress.stop();
    failures?.close();
    await checkpoints?.stop();
  }
  if (shown > MAX_ERRORS_SHOWN) output.error(`${shown - MAX_ERRORS_SHOWN === 1 ? '1 more failed item is' : `${shown - MAX_ERRORS_SHOWN} more failed items are`} listed in ${failures?.written ?? 'the failures file'}`, { prefix: 'bwrite: ' });

  const finishedAt = Date.now();
  const report = buildReport({ runId, outcome, writer, startedAt, finishedAt, failuresFile: failures?.written ?? null, sources, dryRun: Boolean(options.dryRun) });
  const lastSuccessMs = store ? lastSuccess(store) : null;
  if (store && lease) await finishRun(store, lease, report, failures);
  const metricsProblem = options.metricsFile === undefined ? null : writeMetricsOrSay(options.metricsFile, report, writer, lastSuccessMs);
  if (outcome.fatal) output.error(`the store failed: ${outcome.fatal.message}; what was committed stays, and 'bwrite import --resume' finishes the rest once the store is fixed`, { prefix: 'bwrite: error: ' });
  // An input in another format is the whole story when nothing else was read: its hint is the one line.
  if (outcome.wrongFormat) output.error(outcome.wrongFormat.message, { prefix: 'bwrite: error: ' });
  if (!options.quiet && !(outcome.wrongFormat && report.read === 0)) output.error(summaryLine(report));
  if (options.json) output.data(JSON.stringify(report));
  // Last, so a log shows it under the summary. The run's data is committed either way; an
  // otherwise clean run still exits 2 (the --metrics-file value proved unusable), so cron notices.
  if (metricsProblem) output.error(metricsProblem, { prefix: 'bwrite: error: ' });
  const code = exitCode(report, outcome.stoppedBy, signals.received());
  return metricsProblem && code === 0 ? 2 : code;
}

/** Writes the metrics file; a failure there is a sentence to print, not a crash after the commit. */
function writeMetricsOrSay(file: string, report: RunReport, writer: BatchWriter | null, lastSuccessMs: number | null): string | null {
  try {
    writeRunMetrics(file, report, writer, lastSuccessMs);
    return null;
  } catch (error) {
    return `could not write --metrics-file ${file}: ${(error as Error).message}; the run itself is committed as summarised`;
  }
}

async function* openInputs(
  files: string[],
  formats: FormatChoice[],
  options: ImportOptions,
  deriveKey: ReturnType<typeof compileKey>,
  store: Store | null,
  opened: InputSource[],
  failuresFiles: boolean,
  lineBuffers: LineBuffers,
  startOf: ((source: InputSource, seek: Seek) => Promise<InputStart>) | null,
): AsyncGenerator<RunInput> {
  for (let i = 0; i < files.length; i++) {
    const host = store?.shared ? os.hostname() : undefined;
    const source = await openSource(files[i]!, { sourceName: options.sourceName, lineBuffers, encoding: options.encoding, host });
    opened.push(source);
    const reader = { deriveKey, maxRecordBytes: options.maxRecordSize, runInfo: store ? runInfoCache(store) : undefined, lineBuffers, encoding: () => source.encoding };
    let format = formats[i]!;
    // A plain file is looked at now, so that it can be read on from an offset; a stream as it is read.
    if (format === 'json-or-ndjson' && source.path !== null && source.plain) format = await sniffFile(source.path);
    // NDJSON is a record a line, so it can be read on from a line; JSON text from just past a value.
    // A CSV record may span lines (its watermark line is where the record starts) and needs its
    // header: it is read from the start.
    const seek: Seek = failuresFiles ? false : format === 'ndjson' ? 'line' : format === 'json' ? 'value' : false;
    const start = startOf ? await startOf(source, seek) : { resumeAfterLine: 0, resumeAfterByte: 0, supersedes: null, from: null };
    if (start.from) readFrom(source, start.from.bytes, lineBuffers);
    const byOffset = { on: format === 'json' };
    let events = failuresFiles ? readFailures(source.chunks, reader) : recordsOf(source, format, { reader, options, from: start.from, named: files[i] !== '-', byOffset });
    // An input read from its start is first checked to be in its format (see format-guard.ts).
    if (!failuresFiles && start.resumeAfterLine === 0 && !start.from) {
      // Standard input or a compressed .json is judged as what its first bytes made it.
      const judged = (): InputFormat => (format === 'json-or-ndjson' ? (byOffset.on ? 'json' : 'ndjson') : format);
      events = guardFormat(events, { name: source.name, get format() { return judged(); }, magic: () => source.magic });
    }
    yield {
      name: source.name,
      id: source.id,
      identity: (committed) => identityAt(source, committed),
      resumeAfterLine: start.resumeAfterLine,
      resumeAfterByte: start.resumeAfterByte,
      byOffset,
      supersedes: start.supersedes,
      prefix: start.from,
      events,
    };
  }
}

/** The records of `source` read as `format`, from its start or from `from`. */
function recordsOf(
  source: InputSource,
  format: FormatChoice,
  how: { reader: ReaderOptions; options: ImportOptions; from: ReadFrom | null; named: boolean; byOffset: { on: boolean } },
): AsyncIterable<ReadEvent[]> {
  const { reader, options, from } = how;
  if (format === 'ndjson') return readNdjson(source.chunks, reader, from ?? undefined);
  if (format === 'json') return readJson(source.chunks, reader, from ?? undefined);
  if (format === 'json-or-ndjson') return readSniffed(source, how.named, reader, how.byOffset);
  return readCsv(source.chunks, {
    ...reader,
    delimiter: options.delimiter ?? (format === 'tsv' ? '\t' : ','),
    quoting: format === 'csv',
    relaxQuotes: Boolean(options.relaxQuotes),
    columns: options.header ? null : (options.columns ?? null),
    inferTypes: Boolean(options.inferTypes),
  });
}

/** Standard input or a gzip file without --format: JSON text or NDJSON, as its first bytes say. */
async function* readSniffed(source: InputSource, named: boolean, reader: ReaderOptions, byOffset: { on: boolean }): AsyncGenerator<ReadEvent[]> {
  const { format, chunks } = await sniffStream(source.chunks, named);
  byOffset.on = format === 'json';
  yield* format === 'json' ? readJson(chunks, reader) : readNdjson(chunks, reader);
}

/** Runs looked up once each: a failures file names the same run on every line. */
function runInfoCache(store: Store): (runId: string) => { startedAt: number; sources: string[] } | null {
  const known = new Map<string, { startedAt: number; sources: string[] } | null>();
  return (runId) => {
    if (!known.has(runId)) known.set(runId, store.runs.info(runId));
    return known.get(runId)!;
  };
}

function lastSuccess(store: Store): number | null {
  try {
    return store.runs.list(1000).find((run) => run.status === 'ok' && storesItems(run))?.finishedAt ?? null;
  } catch {
    return null;
  }
}

async function finishRun(store: Store, lease: RunLease, report: RunReport, failures: FailureLog | null): Promise<void> {
  try {
    // Every entry the run committed is in its closed failures file now, unless writing it failed.
    if (failures?.complete) store.failureRows.forget(report.runId);
    lease.finish({
      status: report.status,
      finishedAt: Date.parse(report.finishedAt),
      read: report.read,
      written: report.written,
      skipped: report.skipped,
      failed: report.failed,
      retries: report.retries,
      bytes: report.bytes,
      itemsPerSecond: report.itemsPerSecond,
      latencyMs: report.latencyMs,
      peakInFlight: report.peakInFlight,
      failuresFile: report.failuresFile,
    });
    store.index.checkpoint();
  } catch {
    // The history row is a convenience; the store's data is already committed.
  }
  await store.close();
}

/** A store that failed outranks a signal: the run's status says `aborted`, and cron must see exit 3. */
function exitCode(report: RunReport, stoppedBy: string | null, signal: NodeJS.Signals | null): number {
  if (stoppedBy === 'store') return 3;
  if (stoppedBy === 'format') return 2;
  if (signal) return interruptedExitCode(signal);
  if (report.status === 'ok') return 0;
  return 1;
}
