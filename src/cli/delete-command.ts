import { BwriteError } from '../errors.js';
import { readKeyLines, type NotAKey } from '../input/key-lines.js';
import { checkInput, openSource } from '../input/source.js';
import { AttemptsError, DEFAULT_RETRY, withRetry } from '../pipeline/retry.js';
import { countKeys, countPrefix, type DeleteBatch } from '../store/item-deletes.js';
import { keyProblem } from '../store/keys.js';
import { newRunId } from '../store/run-log.js';
import { openStore, readStore, type Store } from '../store/store.js';
import { interruptedExitCode } from './exit-codes.js';
import { formatBytes, formatCount, formatDuration } from './format.js';
import { leaseFromEnv } from './import-checks.js';
import type { Output } from './output.js';
import { trapSignals } from './signals.js';

export interface DeleteOptions {
  store: string;
  blobs?: string;
  prefix?: string;
  from?: string;
  all?: boolean;
  dryRun?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** What a delete names: keys given as arguments, a key list, or the keys of a range. */
export type DeleteTarget = { kind: 'keys'; keys: string[] } | { kind: 'from'; file: string } | { kind: 'range'; prefix: string };

export interface DeleteReport {
  status: 'ok' | 'partial' | 'interrupted';
  /** The run in the store's history; null for a dry run, which records nothing. */
  runId: string | null;
  dryRun: boolean;
  /** Keys named (lines that are not keys included), or items of the range found. */
  asked: number;
  deleted: number;
  /** Keys named that no item had (or that no item can have: a line that is not a key). */
  absent: number;
  /** The deleted values' sizes; their blobs stay until `bwrite gc` finds nothing refers to them. */
  bytes: number;
  /** The first ABSENT_LISTED absent keys, in the order named. */
  absentKeys: string[];
  durationMs: number;
}

/** Keys per transaction: an import waiting for the write lock waits for one batch at most. */
export const DELETE_BATCH = 2000;
const ABSENT_SHOWN = 10;
const ABSENT_LISTED = 100;

/** `bwrite delete`: exit 0 when done, 1 when a named key was absent, 130/143 when interrupted. */
export async function deleteCommand(keys: string[], options: DeleteOptions, output: Output): Promise<number> {
  const target = deleteTarget(keys, options);
  const leaseMs = leaseFromEnv(process.env);
  const startedAt = Date.now();
  const tally = new DeleteTally(options, output, startedAt);
  if (options.dryRun) await readStore(options.store, (store) => countTarget(store, target, tally), options);
  else {
    const store = await openStore(options.store, { create: false, leaseMs, blobs: options.blobs });
    try {
      await deleteTargetIn(store, target, tally);
    } finally {
      await store.close();
    }
  }
  const report = tally.report();
  if (!options.quiet) output.error(summaryLine(report));
  if (options.json) output.data(JSON.stringify(report));
  if (report.status === 'interrupted') return interruptedExitCode(tally.signals?.received() ?? 'SIGINT');
  return report.absent > 0 ? 1 : 0;
}

/** Exactly one way of naming keys; an empty prefix must be said as `--all`. */
export function deleteTarget(keys: string[], options: DeleteOptions): DeleteTarget {
  const given = [keys.length > 0 && 'KEY arguments', options.prefix !== undefined && '--prefix', options.from !== undefined && '--from', options.all && '--all'].filter(
    (name): name is string => typeof name === 'string',
  );
  if (given.length === 0) throw new BwriteError('E_USAGE', "name what to delete: KEY..., --prefix P, --from FILE (one key a line, '-' for standard input), or --all for every item");
  if (given.length > 1) throw new BwriteError('E_USAGE', `${given.join(' and ')} cannot be combined: a delete takes one of KEY..., --prefix, --from or --all`);
  if (options.prefix === '') throw new BwriteError('E_USAGE', "--prefix '' would delete every item: if that is what you mean, say --all");
  if (options.all) return { kind: 'range', prefix: '' };
  if (options.prefix !== undefined) return { kind: 'range', prefix: options.prefix };
  if (options.from !== undefined) {
    checkInput(options.from);
    return { kind: 'from', file: options.from };
  }
  for (const key of keys) {
    const problem = keyProblem(key);
    if (problem) throw new BwriteError('E_USAGE', `'${key.length > 80 ? `${key.slice(0, 80)}…` : key}' is not a key: ${problem.message}`);
  }
  return { kind: 'keys', keys };
}

/**
 * Deletes under a run with a lease, like an import (rule 3 in store.ts), a batch per transaction;
 * a SIGINT or SIGTERM stops it between two batches.
 */
async function deleteTargetIn(store: Store, target: DeleteTarget, tally: DeleteTally): Promise<void> {
  const runId = newRunId(tally.startedAt);
  tally.runId = runId;
  const lease = store.newRun({ runId, command: 'delete', startedAt: tally.startedAt, sources: target.kind === 'from' ? [target.file] : [] });
  lease.register();
  const controller = new AbortController();
  tally.signals = trapSignals(controller);
  const deletes = store.index.itemDeletes();
  const commit = async (apply: () => DeleteBatch, notKeys: NotAKey[] = []): Promise<DeleteBatch> => {
    const batch = await retried(apply, controller.signal);
    tally.add(batch, notKeys);
    // Lets the lease's timer renew it, and a signal be seen, between two batches.
    await new Promise((resolve) => setImmediate(resolve));
    return batch;
  };
  try {
    if (target.kind === 'range') {
      // From just past the last key deleted: a key an import adds behind that point stays.
      let after: string | null = null;
      while (!controller.signal.aborted) {
        const from: string | null = after;
        const batch = await commit(() => deletes.deleteRange(target.prefix, from, DELETE_BATCH, runId));
        if (batch.last === null || batch.asked < DELETE_BATCH) break;
        after = batch.last;
      }
    } else {
      for await (const part of untilAborted(keyBatches(target), controller.signal)) {
        await commit(() => deletes.deleteKeys(part.keys, runId), part.notKeys);
      }
    }
    if (controller.signal.aborted) {
      tally.interrupted = true;
      // A read of standard input blocked on a silent pipe is abandoned, so the process can end.
      if (target.kind === 'from' && target.file === '-') process.stdin.destroy();
    }
  } catch (error) {
    lease.finish(tally.runTotals('aborted'));
    throw error;
  }
  lease.finish(tally.runTotals(tally.report().status));
  store.index.checkpoint();
}

async function countTarget(store: Store, target: DeleteTarget, tally: DeleteTally): Promise<void> {
  if (target.kind === 'range') tally.add(countPrefix(store, target.prefix), []);
  else for await (const part of keyBatches(target)) tally.add(countKeys(store, part.keys), part.notKeys);
}

async function* keyBatches(target: Exclude<DeleteTarget, { kind: 'range' }>): AsyncGenerator<{ keys: string[]; notKeys: NotAKey[] }> {
  if (target.kind === 'keys') {
    for (let at = 0; at < target.keys.length; at += DELETE_BATCH) yield { keys: target.keys.slice(at, at + DELETE_BATCH), notKeys: [] };
    return;
  }
  const source = await openSource(target.file);
  yield* readKeyLines(source.chunks, DELETE_BATCH);
}

/** The items of `source` until `signal` aborts, also when it aborts while `source` waits for input. */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const aborted = new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
  while (!signal.aborted) {
    const next = await Promise.race([iterator.next(), aborted]);
    if (next === null || next.done) break;
    yield next.value;
  }
}

/** A batch's transaction, tried again after SQLITE_BUSY like an import's; any other error is the store's. */
async function retried(apply: () => DeleteBatch, signal: AbortSignal): Promise<DeleteBatch> {
  try {
    return (await withRetry(apply, DEFAULT_RETRY, { signal })).value;
  } catch (error) {
    throw error instanceof AttemptsError ? error.cause : error;
  }
}

/** A delete's counts as its batches commit, and the absent keys shown to people. */
class DeleteTally {
  runId: string | null = null;
  interrupted = false;
  signals: { received: () => NodeJS.Signals | null } | null = null;
  private asked = 0;
  private deleted = 0;
  private bytes = 0;
  private absent = 0;
  private readonly absentKeys: string[] = [];

  constructor(
    private readonly options: DeleteOptions,
    private readonly output: Output,
    readonly startedAt: number,
  ) {}

  add(batch: DeleteBatch, notKeys: NotAKey[]): void {
    this.asked += batch.asked + notKeys.length;
    this.deleted += batch.deleted;
    this.bytes += batch.bytes;
    for (const { line, message } of notKeys) this.say(`${this.options.from}:${line}: not a key: ${message}`);
    for (const key of batch.absent) {
      if (this.absentKeys.length < ABSENT_LISTED) this.absentKeys.push(key);
      this.say(`no item with key '${key}'`);
    }
  }

  private say(message: string): void {
    if (this.absent++ < ABSENT_SHOWN && !this.options.quiet) this.output.error(message, { prefix: 'bwrite: ' });
  }

  report(): DeleteReport {
    const status = this.interrupted ? 'interrupted' : this.absent > 0 ? 'partial' : 'ok';
    const { runId, asked, deleted, absent, bytes, absentKeys } = this;
    return { status, runId, dryRun: Boolean(this.options.dryRun), asked, deleted, absent, bytes, absentKeys, durationMs: Date.now() - this.startedAt };
  }

  /** The run's row in the history: keys asked as read, absent ones as skipped. */
  runTotals(status: 'ok' | 'partial' | 'interrupted' | 'aborted') {
    const finishedAt = Date.now();
    const seconds = (finishedAt - this.startedAt) / 1000;
    return {
      status,
      finishedAt,
      read: this.asked,
      written: 0,
      skipped: this.absent,
      failed: 0,
      deleted: this.deleted,
      retries: 0,
      bytes: this.bytes,
      itemsPerSecond: seconds > 0 ? this.deleted / seconds : null,
      latencyMs: { p50: null, p95: null, p99: null },
      peakInFlight: null,
      failuresFile: null,
    };
  }
}

export function summaryLine(report: DeleteReport): string {
  const label = report.dryRun ? `${report.status} (dry run)` : report.status;
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const more = report.absent > ABSENT_SHOWN ? ` (the first ${ABSENT_SHOWN} are listed above)` : '';
  return `bwrite: ${label}: asked ${formatCount(report.asked)}, ${verb} ${formatCount(report.deleted)}, absent ${formatCount(report.absent)}${more}; ${formatBytes(report.bytes)} in ${formatDuration(report.durationMs)}`;
}
