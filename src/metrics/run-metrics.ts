import fs from 'node:fs';
import path from 'node:path';
import { BwriteError } from '../errors.js';
import { outputFileProblem } from '../output-file.js';
import type { RunReport } from '../cli/run-report.js';
import type { BatchWriter } from '../pipeline/batch-writer.js';
import { renderMetrics, type MetricFamily } from './prometheus.js';

/**
 * Checks before the run that `--metrics-file` can be written (its directory exists and is
 * writable, and it is not a directory), so a typo is a usage error, not a surprise after the
 * import committed.
 */
export function checkMetricsFile(file: string): void {
  const problem = outputFileProblem(file, 'replace');
  if (problem) throw new BwriteError('E_USAGE', `--metrics-file ${file}: ${problem}`);
}

/** The run's metrics for node_exporter's textfile collector: written to a temp file, then renamed. */
export function writeRunMetrics(file: string, report: RunReport, writer: BatchWriter | null, lastSuccessMs: number | null): void {
  const text = renderMetrics(runFamilies(report, writer, lastSuccessMs));
  const target = path.resolve(file);
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, target);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/** `lastSuccessMs`: when a run of this store last stored everything (kept across failed runs). */
export function runFamilies(report: RunReport, writer: BatchWriter | null, lastSuccessMs: number | null): MetricFamily[] {
  const finished = Date.parse(report.finishedAt) / 1000;
  const families: MetricFamily[] = [
    {
      name: 'bwrite_items_total',
      help: 'Items processed by the last run, by outcome.',
      type: 'counter',
      samples: (['written', 'skipped', 'failed'] as const).map((outcome) => ({ labels: { outcome }, value: report[outcome] })),
    },
    { name: 'bwrite_records_read_total', help: 'Records read by the last run.', type: 'counter', samples: [{ value: report.read }] },
    { name: 'bwrite_retries_total', help: 'Write attempts retried after a transient error in the last run.', type: 'counter', samples: [{ value: report.retries }] },
    { name: 'bwrite_written_bytes_total', help: 'Bytes of values written by the last run.', type: 'counter', samples: [{ value: report.bytes }] },
    { name: 'bwrite_run_duration_seconds', help: 'Wall time of the last run.', type: 'gauge', samples: [{ value: report.durationMs / 1000 }] },
    { name: 'bwrite_run_finished_timestamp_seconds', help: 'When the last run finished.', type: 'gauge', samples: [{ value: finished }] },
    { name: 'bwrite_run_ok', help: '1 when the last run stored every record it read, else 0.', type: 'gauge', samples: [{ value: report.status === 'ok' ? 1 : 0 }] },
  ];
  const lastSuccess = report.status === 'ok' ? finished : lastSuccessMs === null ? null : lastSuccessMs / 1000;
  if (lastSuccess !== null) {
    families.push({ name: 'bwrite_last_success_timestamp_seconds', help: 'When a run last finished with every record stored.', type: 'gauge', samples: [{ value: lastSuccess }] });
  }
  if (writer) {
    const latency = writer.latency;
    families.push({
      name: 'bwrite_write_duration_seconds',
      help: 'Latency of item writes (value to disk), failed ones included.',
      type: 'histogram',
      samples: [
        ...latency.cumulativeBuckets().map((bucket) => ({ suffix: '_bucket', labels: { le: bucket.le }, value: bucket.count })),
        { suffix: '_sum', value: latency.sumMs / 1000 },
        { suffix: '_count', value: latency.count },
      ],
    });
  }
  return families;
}
