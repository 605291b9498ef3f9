import type { BatchWriter } from '../pipeline/batch-writer.js';
import type { RunOutcome } from '../pipeline/import-run.js';
import { formatBytes, formatCount, formatDuration, round } from './format.js';

/** What a run did: the `--json` summary, the run history row and the metrics all come from it. */
export interface RunReport {
  status: RunOutcome['status'];
  runId: string;
  dryRun: boolean;
  read: number;
  written: number;
  skipped: number;
  failed: number;
  retries: number;
  bytes: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  itemsPerSecond: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  peakInFlight: number;
  failuresFile: string | null;
  sources: string[];
  error: string | null;
}

export function buildReport(args: {
  runId: string;
  outcome: RunOutcome;
  writer: BatchWriter | null;
  startedAt: number;
  finishedAt: number;
  failuresFile: string | null;
  sources: string[];
  dryRun: boolean;
}): RunReport {
  const { outcome, writer } = args;
  const durationMs = Math.max(0, args.finishedAt - args.startedAt);
  const processed = outcome.counters.written + outcome.counters.skipped + outcome.counters.failed;
  return {
    status: outcome.status,
    runId: args.runId,
    dryRun: args.dryRun,
    ...outcome.counters,
    retries: writer?.totals.retries ?? 0,
    bytes: writer?.totals.bytes ?? 0,
    startedAt: new Date(args.startedAt).toISOString(),
    finishedAt: new Date(args.finishedAt).toISOString(),
    durationMs: Math.round(durationMs),
    itemsPerSecond: durationMs > 0 ? Math.round((processed / durationMs) * 1000) : processed,
    latencyMs: {
      p50: round(writer?.latency.quantile(0.5) ?? null),
      p95: round(writer?.latency.quantile(0.95) ?? null),
      p99: round(writer?.latency.quantile(0.99) ?? null),
    },
    peakInFlight: writer?.peakInFlight ?? 0,
    failuresFile: args.failuresFile,
    sources: args.sources,
    error: outcome.fatal ? outcome.fatal.message : (outcome.wrongFormat?.message ?? null),
  };
}

/** The one human line printed at the end of a run. */
export function summaryLine(report: RunReport): string {
  const verb = report.dryRun ? 'would write' : 'written';
  const parts = [
    `read ${formatCount(report.read)}`,
    `${verb} ${formatCount(report.written)}`,
    `skipped ${formatCount(report.skipped)}`,
    `failed ${formatCount(report.failed)}`,
    `retries ${formatCount(report.retries)}`,
  ];
  const rate = `${formatBytes(report.bytes)} in ${formatDuration(report.durationMs)} (${formatCount(report.itemsPerSecond)} items/s)`;
  const failures = report.failuresFile ? `; failures in ${report.failuresFile}` : '';
  const label = report.dryRun ? `${report.status} (dry run)` : report.status;
  return `bwrite: ${label}: ${parts.join(', ')}; ${rate}${failures}`;
}
