import { renderMetrics, type MetricFamily } from '../metrics/prometheus.js';
import { storesItems, type RunStatus } from '../store/run-log.js';
import { readStore } from '../store/store.js';
import { RUNS_SINCE_COUNT_LIMIT, storeStats, type StoreStats } from '../store/store-stats.js';
import { countOf, formatBytes, formatCount, formatTime, table } from './format.js';
import type { Output } from './output.js';

export interface StatsOptions {
  store: string;
  blobs?: string;
  json?: boolean;
  prometheus?: boolean;
  recount?: boolean;
}

/** `bwrite stats`: what the store holds and the latest runs; `--recount` counts the distinct values now. */
export async function statsCommand(options: StatsOptions, output: Output): Promise<number> {
  const stats = await readStore(options.store, (store) => storeStats(store, { recount: options.recount }), options);
  if (options.json) output.data(JSON.stringify(statsJson(stats)));
  else if (options.prometheus) process.stdout.write(renderMetrics(statsFamilies(stats)));
  else output.data(humanStats(stats));
  return 0;
}

/** Times as ISO 8601, the same as `import --json` prints them. */
function statsJson(stats: StoreStats): unknown {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  // runsSinceCount is counted only up to a limit: the human line says so; scripts have valuesCountedAt and the runs.
  const { runsSinceCount: _counted, ...shown } = stats;
  return {
    ...shown,
    valuesCountedAt: iso(stats.valuesCountedAt),
    runs: stats.runs.map((run) => ({ ...run, startedAt: iso(run.startedAt), finishedAt: iso(run.finishedAt) })),
  };
}

const RECOUNT_HINT = `'bwrite stats --recount' counts them now`;

function humanStats(stats: StoreStats): string {
  const lines = [
    `store        ${stats.store}`,
    `items        ${countOf(stats.items, 'item')} (${formatCount(stats.inlineItems)} inline, ${formatCount(stats.items - stats.inlineItems)} in blobs)`,
    `values       ${stats.blobs === null ? 'not counted' : `${countOf(stats.blobs, 'blob file')}, ${formatCount(stats.inlineValues ?? 0)} inline`}`,
    `bytes        ${formatBytes(stats.bytes)} logical, ${stats.storedBytes === null ? 'stored not counted' : `${formatBytes(stats.storedBytes)} stored`}${stats.dedupRatio ? ` (dedup ${stats.dedupRatio}×)` : ''}`,
  ];
  if (!stats.valuesCurrent) lines.push(`counted      ${countedWhen(stats)}`);
  lines.push(`by type      ${Object.entries(stats.byType).map(([type, t]) => `${type}: ${formatCount(t.items)}`).join(', ') || '-'}`, '');
  if (stats.runs.length === 0) lines.push('no runs yet');
  else lines.push(runsTable(stats));
  return lines.join('\n');
}

/** When the values and stored bytes above were counted, as they are not of the items as they are now, and what counts them. */
function countedWhen(stats: StoreStats): string {
  if (stats.valuesCountedAt === null) return `values and stored bytes: never; ${RECOUNT_HINT}`;
  const runs = stats.runsSinceCount >= RUNS_SINCE_COUNT_LIMIT ? `${formatCount(stats.runsSinceCount)} or more runs` : countOf(stats.runsSinceCount, 'run');
  const before = stats.runsSinceCount > 0 ? `before ${runs} that stored items` : 'before later changes';
  return `values and stored bytes at ${formatTime(stats.valuesCountedAt)}, ${before}; ${RECOUNT_HINT}`;
}

function runsTable(stats: StoreStats): string {
  return table(
    ['run', 'command', 'started', 'status', 'read', 'written', 'skipped', 'failed', 'deleted', 'retries', 'items/s', 'p95 ms'],
    stats.runs.map((run) => [
      run.runId,
      run.command,
      formatTime(run.startedAt),
      run.status,
      formatCount(run.read),
      formatCount(run.written),
      formatCount(run.skipped),
      formatCount(run.failed),
      formatCount(run.deleted),
      formatCount(run.retries),
      run.itemsPerSecond === null ? '-' : formatCount(Math.round(run.itemsPerSecond)),
      run.latencyMs.p95 === null ? '-' : String(run.latencyMs.p95),
    ]),
  );
}

// Every status, also at 0, so that an alert on `{status="crashed"} > 0` has a series to watch.
const RUN_STATUSES: readonly RunStatus[] = ['running', 'ok', 'partial', 'aborted', 'interrupted', 'crashed'];

/** The store's figures as gauges; counted figures never counted are left out rather than shown as 0. */
function statsFamilies(stats: StoreStats): MetricFamily[] {
  const latest = stats.runs[0];
  const lastOk = stats.runs.find((run) => run.status === 'ok' && storesItems(run));
  const gauge = (name: string, help: string, value: number | null): MetricFamily[] => (value === null ? [] : [{ name, help, type: 'gauge', samples: [{ value }] }]);
  const families: MetricFamily[] = [
    ...gauge('bwrite_store_items', 'Items in the store.', stats.items),
    ...gauge('bwrite_store_blobs', 'Distinct values kept as blob files, as counted at bwrite_store_values_counted_timestamp_seconds.', stats.blobs),
    ...gauge('bwrite_store_logical_bytes', 'Sum of the sizes of all items values.', stats.bytes),
    ...gauge('bwrite_store_stored_bytes', 'Bytes of distinct values, after de-duplication, as counted at bwrite_store_values_counted_timestamp_seconds.', stats.storedBytes),
    ...gauge('bwrite_store_values_counted_timestamp_seconds', 'When the distinct values (blobs, stored bytes) were last counted.', stats.valuesCountedAt === null ? null : stats.valuesCountedAt / 1000),
    ...gauge('bwrite_store_values_current', "1 when the distinct values count the items as they are now; 0 when the items changed since (or they were never counted): 'bwrite stats --recount' counts them.", stats.valuesCurrent ? 1 : 0),
    {
      name: 'bwrite_store_items_by_type',
      help: 'Items in the store by type tag.',
      type: 'gauge',
      samples: Object.entries(stats.byType).map(([type, t]) => ({ labels: { type }, value: t.items })),
    },
    ...gauge('bwrite_store_runs', 'Runs recorded in the history shown.', stats.runs.length),
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
      samples: (['read', 'written', 'skipped', 'failed', 'deleted'] as const).map((outcome) => ({ labels: { outcome }, value: latest[outcome] })),
    });
  }
  if (lastOk?.finishedAt) families.push(...gauge('bwrite_last_success_timestamp_seconds', 'When a run last finished with every record stored.', lastOk.finishedAt / 1000));
  return families;
}
