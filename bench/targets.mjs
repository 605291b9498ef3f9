import { ALL_FAILING, ALL_STORED } from './configs.mjs';

// Issue 4's targets, as data: each a ratio of two rows of the main table (or a limit on one
// figure), with the bar it must clear.

const RATIOS = [
  { name: '--inline-max 0 / floor-blob', top: 'bwrite --inline-max 0', bottom: 'floor-blob', min: 0.85 },
  { name: 'default / floor-inline', top: 'bwrite', bottom: 'floor-inline', min: 0.8 },
  { name: 'default / sqlite-utils', top: 'bwrite', bottom: 'sqlite-utils', min: 2.5 },
  { name: 'default / cacache', top: 'bwrite', bottom: 'cacache', min: 5 },
  { name: 'default / naive', top: 'bwrite', bottom: 'naive', min: 10 },
  { name: '1 MB values / cp (MB/s)', top: 'bwrite 1m', bottom: 'cp 1m files', min: 0.7, unit: 'mbPerSecond' },
];

export const RSS_LIMIT_MB = 200;
export const RSS_GROWTH_LIMIT = 0.2;
/** Issue 14: an input where every record fails peaks within 20 % of the same input stored. */
export const FAILING_RSS_LIMIT = 1.2;
export const STARTUP_LIMIT_MS = 300;

/** Each target with its ratio and PASS / FAIL (or SKIP when a row is missing). */
export function checkRatios(rows) {
  const byName = new Map(rows.map((row) => [row.name, row]));
  return RATIOS.map((target) => {
    const top = byName.get(target.top);
    const bottom = byName.get(target.bottom);
    const unit = target.unit ?? 'itemsPerSecond';
    if (!top || !bottom) return { ...target, ratio: null, verdict: 'SKIP' };
    const ratio = top[unit] / bottom[unit];
    return { ...target, ratio, verdict: ratio >= target.min ? 'PASS' : 'FAIL' };
  });
}

/** Peak RSS of every bwrite row against the limit; growth from the main set to the big one. */
export function checkMemory(rows, big) {
  const checks = rows
    .filter((row) => row.group === 'bwrite')
    .map((row) => ({ name: `peak RSS ${row.name}`, value: row.peakRssMb, limit: `≤ ${RSS_LIMIT_MB} MB`, verdict: row.peakRssMb <= RSS_LIMIT_MB ? 'PASS' : 'FAIL' }));
  if (big) {
    const growth = (big.peakRssMb - big.baseRssMb) / big.baseRssMb;
    checks.push({
      name: `RSS ${big.items.toLocaleString('en')} vs ${big.baseItems.toLocaleString('en')} records`,
      value: growth,
      detail: `${big.peakRssMb.toFixed(0)} MB vs ${big.baseRssMb.toFixed(0)} MB`,
      limit: `within ${RSS_GROWTH_LIMIT * 100} %`,
      verdict: Math.abs(growth) <= RSS_GROWTH_LIMIT ? 'PASS' : 'FAIL',
    });
  }
  return checks;
}

/** Peak RSS of the all-failing row over the all-stored one, measured in the same rounds. */
export function checkFailingMemory(rows) {
  const stored = rows.find((row) => row.name === ALL_STORED);
  const failing = rows.find((row) => row.name === ALL_FAILING);
  const name = `peak RSS all failing / all stored (${(stored ?? failing)?.items.toLocaleString('en') ?? '?'} records)`;
  const limit = `≤ ${FAILING_RSS_LIMIT} ×`;
  if (!stored?.peakRssMb || !failing?.peakRssMb) return [{ name, value: null, limit, verdict: 'SKIP' }];
  const ratio = failing.peakRssMb / stored.peakRssMb;
  return [{ name, value: ratio, unit: '×', detail: `${failing.peakRssMb.toFixed(0)} MB vs ${stored.peakRssMb.toFixed(0)} MB`, limit, verdict: ratio <= FAILING_RSS_LIMIT ? 'PASS' : 'FAIL' }];
}

export function checkStartup(startup) {
  return startup.map((entry) => ({ ...entry, limit: `< ${STARTUP_LIMIT_MS} ms`, verdict: entry.medianMs < STARTUP_LIMIT_MS ? 'PASS' : 'FAIL' }));
}
