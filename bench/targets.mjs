import { ALL_FAILING, ALL_STORED } from './configs.mjs';
import { SHARED_ROWS } from './shared.mjs';

// Issue 4's targets, as data: each a ratio of two rows of the main table (or a limit on one
// figure), with the bar it must clear.

const RATIOS = [
  { name: '--inline-max 0 / floor-blob', top: 'bwrite --inline-max 0', bottom: 'floor-blob', min: 0.85 },
  { name: 'default / floor-inline', top: 'bwrite', bottom: 'floor-inline', min: 0.8 },
  { name: 'default / sqlite-utils', top: 'bwrite', bottom: 'sqlite-utils', min: 2.5 },
  { name: 'default / cacache', top: 'bwrite', bottom: 'cacache', min: 5 },
  { name: 'default / naive', top: 'bwrite', bottom: 'naive', min: 10 },
  // Issue 16: the same records as one JSON array, against them as NDJSON.
  { name: '--format json / NDJSON', top: 'bwrite json', bottom: 'bwrite', min: 0.7 },
  { name: '1 MB values / cp (MB/s)', top: 'bwrite 1m', bottom: 'cp 1m files', min: 0.7, unit: 'mbPerSecond' },
  // Issue 17: the shared store against its floors on the same servers (bench/shared.mjs).
  { name: 'PostgreSQL, 1 KB inline / COPY FROM STDIN', top: SHARED_ROWS.pg, bottom: SHARED_ROWS.pgFloor, min: 0.7 },
  { name: 'S3, 64 KB values / PUT loop', top: SHARED_ROWS.s3, bottom: SHARED_ROWS.s3Floor, min: 0.8 },
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
    if (top.error || bottom.error) return { ...target, ratio: null, verdict: 'ERROR' };
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

/** Issue 17: peak RSS of every bwrite run on the shared store (ERROR where the run failed). */
export function checkSharedMemory(rows) {
  return rows
    .filter((row) => row.group === 'bwrite')
    .map((row) => ({
      name: `peak RSS ${row.name}`,
      value: row.error ? null : row.peakRssMb,
      limit: `≤ ${RSS_LIMIT_MB} MB`,
      verdict: row.error ? 'ERROR' : row.peakRssMb === null ? 'SKIP' : row.peakRssMb <= RSS_LIMIT_MB ? 'PASS' : 'FAIL',
    }));
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

/** Issue 16: a 2 GB JSON array streams within the same peak RSS as any input. */
export function checkBigJson(bigJson) {
  const verdict = bigJson.peakRssMb === null ? 'SKIP' : bigJson.peakRssMb <= RSS_LIMIT_MB ? 'PASS' : 'FAIL';
  return [{ name: `peak RSS --format json, ${bigJson.items.toLocaleString('en')} records in one array`, value: bigJson.peakRssMb, limit: `≤ ${RSS_LIMIT_MB} MB`, verdict }];
}

export function checkStartup(startup) {
  return startup.map((entry) => ({ ...entry, limit: `< ${STARTUP_LIMIT_MS} ms`, verdict: entry.medianMs < STARTUP_LIMIT_MS ? 'PASS' : 'FAIL' }));
}

// Issue 15: costs that stay flat as the store grows. Each a ratio or a limit on rows of the growth
// phase (growth.mjs), measured in the same run.
export const GROWTH_MIN_RATIO = 0.7;
export const GROWTH_STATS_LIMIT_MS = 300;
export const GROWTH_RESUME_EXTRA_MS = 300;
export const GROWTH_RESUME_RATIO = 1.2;
export const GROWTH_SCAN_MIN_ITEMS_PER_S = 150_000;
export const GROWTH_GET_RATIO = 1.3;

/** PASS / FAIL for each of issue 15's targets, from the growth phase's rows. */
export function checkGrowth(growth) {
  const row = new Map(growth.rows.map((r) => [r.id, r]));
  const large = growth.sizes.large.toLocaleString('en');
  const checks = [];
  const add = (name, value, display, limit, pass) => checks.push({ name, value, display, limit, verdict: value === null ? 'SKIP' : pass ? 'PASS' : 'FAIL' });
  const ratio = (top, bottom, unit = 'itemsPerSecond') => (row.get(top) && row.get(bottom) ? row.get(top)[unit] / row.get(bottom)[unit] : null);
  const ms = (n) => `${Math.round(n).toLocaleString('en')} ms`;
  const rate = (id) => `${Math.round(row.get(id).itemsPerSecond).toLocaleString('en')} items/s`;

  for (const [id, what] of [['intoLarge', 'new keys'], ['replaceLarge', 'replacements']]) {
    const r = ratio(id, 'intoEmpty');
    add(`${what} into ${large} / into an empty store (items/s)`, r, r === null ? '–' : `${r.toFixed(2)} × (${rate(id)} vs ${rate('intoEmpty')})`, `≥ ${GROWTH_MIN_RATIO} ×`, r >= GROWTH_MIN_RATIO);
  }
  for (const id of ['stats', 'stats--json', 'stats--prometheus']) {
    const r = row.get(id);
    add(`${id.replace('--', ' --')} right after a one-record import (${large})`, r?.wallMs ?? null, r ? ms(r.wallMs) : '–', `< ${GROWTH_STATS_LIMIT_MS} ms`, r?.wallMs < GROWTH_STATS_LIMIT_MS);
  }
  const version = row.get('version');
  const one = row.get('resumeOneLine');
  const extra = one && version ? one.wallMs - version.wallMs : null;
  add('--resume, 1 line appended to the log, minus --version', extra, extra === null ? '–' : `${ms(extra)} (${ms(one.wallMs)} vs ${ms(version.wallMs)})`, `< ${GROWTH_RESUME_EXTRA_MS} ms`, extra < GROWTH_RESUME_EXTRA_MS);
  const resumeRatio = ratio('resumeAppended', 'appendedAlone', 'wallMs');
  add('--resume, appended / the same size imported alone (time)', resumeRatio, resumeRatio === null ? '–' : `${resumeRatio.toFixed(2)} × (${ms(row.get('resumeAppended').wallMs)} vs ${ms(row.get('appendedAlone').wallMs)})`, `≤ ${GROWTH_RESUME_RATIO} ×`, resumeRatio <= GROWTH_RESUME_RATIO);
  for (const id of ['export', 'exportPrefix', 'exportNone', 'verify', 'verifyDeep', 'gc', 'gcOrphans']) {
    const r = row.get(id);
    if (!r) continue;
    add(`peak RSS ${r.name}`, r.peakRssMb, r.peakRssMb === null ? '–' : `${r.peakRssMb.toFixed(0)} MB`, `≤ ${RSS_LIMIT_MB} MB`, r.peakRssMb <= RSS_LIMIT_MB);
  }
  for (const id of ['export', 'verify', 'gc']) {
    const r = row.get(id);
    if (!r) continue;
    add(`${r.name} items/s`, r.itemsPerSecond, rate(id), `≥ ${GROWTH_SCAN_MIN_ITEMS_PER_S.toLocaleString('en')}`, r.itemsPerSecond >= GROWTH_SCAN_MIN_ITEMS_PER_S);
  }
  const get = ratio('get', 'version', 'wallMs');
  add(`get / --version, per process (${large})`, get, get === null ? '–' : `${get.toFixed(2)} × (${ms(row.get('get').wallMs)} vs ${ms(version.wallMs)})`, `≤ ${GROWTH_GET_RATIO} ×`, get <= GROWTH_GET_RATIO);
  return checks;
}
