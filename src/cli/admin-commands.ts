import { renderMetrics, type MetricFamily } from '../metrics/prometheus.js';
import { completeFailureFiles } from '../pipeline/failure-recovery.js';
import { collectGarbage } from '../store/gc.js';
import type { RunStatus } from '../store/run-log.js';
import { openStore, readStore } from '../store/store.js';
import { storeStats, type StoreStats } from '../store/store-stats.js';
import { verifyStore } from '../store/verify.js';
import { countOf, formatBytes, formatCount, formatTime, table } from './format.js';
import type { Output } from './output.js';

/** `bwrite stats`: what the store holds and the latest runs. */
export async function statsCommand(options: { store: string; json?: boolean; prometheus?: boolean }, output: Output): Promise<number> {
  const stats = await readStore(options.store, (store) => storeStats(store));
  if (options.json) output.data(JSON.stringify(statsJson(stats)));
  else if (options.prometheus) process.stdout.write(renderMetrics(statsFamilies(stats)));
  else output.data(humanStats(stats));
  return 0;
}

/** Times as ISO 8601, the same as `import --json` prints them. */
function statsJson(stats: StoreStats): unknown {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { ...stats, runs: stats.runs.map((run) => ({ ...run, startedAt: iso(run.startedAt), finishedAt: iso(run.finishedAt) })) };
}

function humanStats(stats: StoreStats): string {
  const lines = [
    `store        ${stats.store}`,
    `items        ${countOf(stats.items, 'item')} (${formatCount(stats.inlineItems)} inline, ${formatCount(stats.items - stats.inlineItems)} in blobs)`,
    `values       ${countOf(stats.blobs, 'blob file')}, ${formatCount(stats.inlineValues)} inline`,
    `bytes        ${formatBytes(stats.bytes)} logical, ${formatBytes(stats.storedBytes)} stored${stats.dedupRatio ? ` (dedup ${stats.dedupRatio}×)` : ''}`,
    `by type      ${Object.entries(stats.byType).map(([type, t]) => `${type}: ${formatCount(t.items)}`).join(', ') || '-'}`,
    '',
  ];
  if (stats.runs.length === 0) lines.push('no runs yet');
  else {
    lines.push(
      table(
        ['run', 'started', 'status', 'read', 'written', 'skipped', 'failed', 'retries', 'items/s', 'p95 ms'],
        stats.runs.map((run) => [
          run.runId,
          formatTime(run.startedAt),
          run.status,
          formatCount(run.read),
          formatCount(run.written),
          formatCount(run.skipped),
          formatCount(run.failed),
          formatCount(run.retries),
          run.itemsPerSecond === null ? '-' : formatCount(Math.round(run.itemsPerSecond)),
          run.latencyMs.p95 === null ? '-' : String(run.latencyMs.p95),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

// Every status, also at 0, so that an alert on `{status="crashed"} > 0` has a series to watch.
const RUN_STATUSES: readonly RunStatus[] = ['running', 'ok', 'partial', 'aborted', 'interrupted', 'crashed'];

function statsFamilies(stats: StoreStats): MetricFamily[] {
  const latest = stats.runs[0];
  const lastOk = stats.runs.find((run) => run.status === 'ok');
  const families: MetricFamily[] = [
    { name: 'bwrite_store_items', help: 'Items in the store.', type: 'gauge', samples: [{ value: stats.items }] },
    { name: 'bwrite_store_blobs', help: 'Distinct values kept as blob files.', type: 'gauge', samples: [{ value: stats.blobs }] },
    { name: 'bwrite_store_logical_bytes', help: 'Sum of the sizes of all items values.', type: 'gauge', samples: [{ value: stats.bytes }] },
    { name: 'bwrite_store_stored_bytes', help: 'Bytes of distinct values, after de-duplication.', type: 'gauge', samples: [{ value: stats.storedBytes }] },
    {
      name: 'bwrite_store_items_by_type',
      help: 'Items in the store by type tag.',
      type: 'gauge',
      samples: Object.entries(stats.byType).map(([type, t]) => ({ labels: { type }, value: t.items })),
    },
    { name: 'bwrite_store_runs', help: 'Runs recorded in the history shown.', type: 'gauge', samples: [{ value: stats.runs.length }] },
    {
      name: 'bwrite_store_runs_by_status',
      help: 'Runs in the history shown, by status; crashed: still marked running, but its lease expired.',
      type: 'gauge',
      samples: RUN_STATUSES.map((status) => ({ labels: { status }, value: stats.runs.filter((run) => run.status === status).length })),
    },
  ];
  if (latest) {
    families.push({
      name: 'bwrite_last_run_items',
      help: 'Items of the latest run, by outcome.',
      type: 'gauge',
      samples: (['read', 'written', 'skipped', 'failed'] as const).map((outcome) => ({ labels: { outcome }, value: latest[outcome] })),
    });
  }
  if (lastOk?.finishedAt) {
    families.push({ name: 'bwrite_last_success_timestamp_seconds', help: 'When a run last finished with every record stored.', type: 'gauge', samples: [{ value: lastOk.finishedAt / 1000 }] });
  }
  return families;
}

/** `bwrite verify`: exit 0 when every index row's value is intact, 1 otherwise. */
export async function verifyCommand(options: { store: string; deep?: boolean; json?: boolean }, output: Output): Promise<number> {
  const report = await readStore(options.store, (store) => verifyStore(store, { deep: options.deep }));
  if (options.json) output.data(JSON.stringify(report));
  else {
    for (const problem of report.problems) output.data(`problem: ${problem.message}`);
    if (report.moreProblems > 0) output.data(`problem: … and ${formatCount(report.moreProblems)} more`);
    const what = `${countOf(report.items, 'item')} checked${report.deep ? ' (deep)' : ''}, ${countOf(report.blobs, 'blob file')}, ${formatCount(report.orphanBlobs)} unreferenced (${formatBytes(report.orphanBytes)}), ${countOf(report.tempFiles, 'temporary file')}`;
    output.data(report.ok ? `ok: ${what}` : `${countOf(report.problems.length + report.moreProblems, 'problem')}: ${what}`);
    if (report.orphanBlobs + report.tempFiles > 0) output.error(`'bwrite gc' removes the unreferenced blobs and temporary files`, { prefix: 'bwrite: ' });
  }
  return report.ok ? 0 : 1;
}

/** `bwrite gc`: remove unreferenced blobs and leftover temporary files. */
export async function gcCommand(options: { store: string; dryRun?: boolean; json?: boolean }, output: Output): Promise<number> {
  const store = await openStore(options.store, { create: false });
  try {
    if (!options.dryRun) completeFailureFiles(store);
    const report = collectGarbage(store, { dryRun: options.dryRun });
    if (options.json) output.data(JSON.stringify(report));
    else {
      const verb = report.dryRun ? 'would remove' : 'removed';
      const spared = report.sparedBlobs > 0 ? `; spared ${countOf(report.sparedBlobs, 'recent blob')} an import running now may use` : '';
      output.data(`${verb} ${countOf(report.removedBlobs, 'blob')} and ${countOf(report.removedTempFiles, 'temporary file')}, ${formatBytes(report.freedBytes)}${spared}`);
      if (report.restoredBlobs > 0) output.data(`put back ${countOf(report.restoredBlobs, 'blob')} an interrupted gc had left in tmp/`);
      if (report.recountedTotals) output.data('counted the items again: the totals stats shows had drifted from the index');
    }
    return 0;
  } finally {
    await store.close();
  }
}
