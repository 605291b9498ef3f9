import fs from 'node:fs';
import path from 'node:path';
import { setMaxListeners } from 'node:events';
import { BwriteError } from '../errors.js';
import { copyStore, type CopyCounters, type CopyProblem, type CopyReport } from '../pipeline/copy-run.js';
import { openStore, type Store } from '../store/store.js';
import { interruptedExitCode } from './exit-codes.js';
import { formatBytes, formatCount, formatDuration } from './format.js';
import { leaseFromEnv } from './import-checks.js';
import type { Output } from './output.js';
import { startProgress, type ProgressMode, type Progressed } from './progress.js';
import { trapSignals } from './signals.js';

export interface CopyCommandOptions {
  from: string;
  to: string;
  blobsFrom?: string;
  blobsTo?: string;
  batchSize: number;
  concurrency: number;
  retries: number;
  retryDelay: number;
  retryMaxDelay: number;
  inlineMax: number;
  durable?: boolean;
  progress: ProgressMode;
  quiet?: boolean;
  json?: boolean;
}

const PROBLEMS_SHOWN = 10;

/**
 * `bwrite copy`: exit 0 when the copy holds every source item and the check found nothing wrong,
 * 1 when an item could not be copied or the check found a difference (each listed), 3 when a
 * store cannot be used, 130/143 when interrupted (a rerun goes on from the last committed batch).
 */
export async function copyCommand(options: CopyCommandOptions, output: Output): Promise<number> {
  if (sameLocation(options.from, options.to)) throw new BwriteError('E_USAGE', '--from and --to name the same store: copy into another one');
  const leaseMs = leaseFromEnv(process.env);
  const from = await openStore(options.from, { readOnly: true, blobs: options.blobsFrom });
  let to: Store;
  try {
    to = await openStore(options.to, { durable: options.durable, leaseMs, blobs: options.blobsTo });
  } catch (error) {
    await from.close();
    throw error;
  }
  const controller = new AbortController();
  // Every write sleeping in backoff listens for the signal: there may be --concurrency of them.
  setMaxListeners(0, controller.signal);
  const signals = trapSignals(controller);
  let report: CopyReport;
  try {
    report = await copyWithProgress(from, to, options, controller.signal, output);
  } finally {
    await to.close();
    await from.close();
  }
  if (report.status === 'aborted') output.error(`the destination failed: ${report.error}; what was committed stays, and the same 'bwrite copy' goes on from there once it is fixed`, { prefix: 'bwrite: error: ' });
  if (!options.quiet) output.error(summaryLine(report));
  if (options.json) output.data(JSON.stringify(report));
  if (report.status === 'interrupted') return interruptedExitCode(signals.received() ?? 'SIGINT');
  return report.status === 'ok' ? 0 : report.status === 'aborted' ? 3 : 1;
}

async function copyWithProgress(from: Store, to: Store, options: CopyCommandOptions, signal: AbortSignal, output: Output): Promise<CopyReport> {
  const source: Progressed = { bytesRead: 0, size: from.index.readTotals().totals.bytes };
  const progress = await startProgress(options.quiet ? 'none' : options.progress, output, () => ({ sources: [source], writer: null }));
  let shown = 0;
  const onProblem = (problem: CopyProblem) => {
    if (shown++ < PROBLEMS_SHOWN && !options.quiet) output.error(problemLine(problem), { prefix: 'bwrite: ' });
  };
  try {
    return await copyStore(from, to, {
      batchSize: options.batchSize,
      maxConcurrent: options.concurrency,
      inlineMax: options.inlineMax,
      retry: { retries: options.retries, baseDelayMs: options.retryDelay, maxDelayMs: options.retryMaxDelay },
      signal,
      onProblem,
      onProgress: (counters: CopyCounters) => {
        source.bytesRead = counters.readBytes;
        progress.update({ read: counters.read, written: counters.copied, skipped: counters.skipped, failed: counters.failed });
      },
    });
  } finally {
    progress.stop();
    if (shown > PROBLEMS_SHOWN && !options.quiet) output.error(`${formatCount(shown - PROBLEMS_SHOWN)} more problems (--json lists the first 1,000)`, { prefix: 'bwrite: ' });
  }
}

/** Two locations of one store: the same directory, also through a link or another spelling of its path. */
function sameLocation(a: string, b: string): boolean {
  return realLocation(a) === realLocation(b);
}

function realLocation(location: string): string {
  try {
    return fs.realpathSync(location);
  } catch {
    return path.resolve(location);
  }
}

function problemLine(problem: CopyProblem): string {
  const key = problem.key.length > 80 ? `${problem.key.slice(0, 80)}…` : problem.key;
  return `key '${key}': ${problem.message}`;
}

/** The one human line printed at the end of a copy. */
export function summaryLine(report: CopyReport): string {
  const parts = [`read ${formatCount(report.read)}`, `copied ${formatCount(report.copied)}`, `skipped ${formatCount(report.skipped)} (already there)`, `failed ${formatCount(report.failed)}`];
  if (report.verified !== null) parts.push(`verified ${formatCount(report.verified)}`, `mismatched ${formatCount(report.mismatched ?? 0)}`);
  else parts.push('not verified (the copy did not get to the end)');
  const rate = `${formatBytes(report.bytes)} in ${formatDuration(report.durationMs)} (${formatCount(report.itemsPerSecond)} items/s)`;
  const extra = report.extra ? `; ${formatCount(report.extra)} keys only in the destination kept` : '';
  const resumed = report.resumed ? ' (resumed)' : '';
  return `bwrite: ${report.status}${resumed}: ${parts.join(', ')}; ${rate}${extra}`;
}
