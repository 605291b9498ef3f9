// The sweep behind the defaults: items/s and p95 write latency (from bwrite's own summary) against
// --concurrency at batch 500, against --batch-size at concurrency 10, and against the libuv thread
// pool size (UV_THREADPOOL_SIZE) at both defaults; one blob per item and with the default inline
// threshold. All points run interleaved, like the main table.
import { bwrite } from './configs.mjs';
import { runRounds } from './rounds.mjs';

const MODES = [
  { mode: '--inline-max 0', args: ['--inline-max', '0'] },
  { mode: 'default', args: [] },
];
const BASE = { concurrency: 10, batchSize: 500 };

export async function runSweep(dataset, profile, outDir) {
  const points = [];
  for (const { mode, args } of MODES) {
    for (const concurrency of profile.concurrency) points.push({ mode, args, axis: 'concurrency', concurrency, batchSize: BASE.batchSize });
    for (const batchSize of profile.batchSize) points.push({ mode, args, axis: 'batchSize', concurrency: BASE.concurrency, batchSize });
    for (const threads of profile.threads) points.push({ mode, args, axis: 'threads', ...BASE, threads });
  }
  const unique = new Map();
  for (const point of points) unique.set(pointName(point), point);
  const configs = [...unique.entries()].map(([name, point]) =>
    bwrite(name, dataset, [...point.args, '--concurrency', String(point.concurrency), '--batch-size', String(point.batchSize)], 'sweep', point.threads ? { UV_THREADPOOL_SIZE: String(point.threads) } : null),
  );
  const results = new Map((await runRounds(configs, { rounds: profile.sweepRounds, outDir, label: 'sweep' })).map((row) => [row.name, row]));
  return points.map((point) => {
    const row = results.get(pointName(point));
    return {
      mode: point.mode,
      axis: point.axis,
      concurrency: point.concurrency,
      batchSize: point.batchSize,
      threads: point.threads ?? null,
      itemsPerSecond: row.ownItemsPerSecond,
      wallItemsPerSecond: row.itemsPerSecond,
      p95Ms: row.p95Ms,
      peakRssMb: row.peakRssMb,
    };
  });
}

function pointName(point) {
  return `sweep ${point.mode} c=${point.concurrency} b=${point.batchSize}${point.threads ? ` uv=${point.threads}` : ''}`;
}
