// Issue 15: what a store that only grows costs. Builds once (cached in bench/.data/growth/) a
// small and a large store of random-UUID keys and 200 B values, then measures on copies of them,
// so the cached stores are never written: imports of new and replaced keys, stats after a
// one-record import, get, export, verify, gc, and --resume of a large log. See bench/README.md.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureInputs, ensureStore } from './growth-cache.mjs';
import { drawnKeys, record, uuidAt } from './growth-data.mjs';
import { measure } from './measure.mjs';
import { median } from './rounds.mjs';
import { bwriteCommand } from './tools.mjs';

/** A prefix of the keys' first two hex digits: 1/256 of random UUIDs (0.39 %). */
export const MATCHING_PREFIX = '00';
/** Sorts before every hex digit: matches nothing, and lies before the whole key space. */
export const EMPTY_PREFIX = '/';

const log = (text) => process.stderr.write(`  ${text}\n`);
const count = (n) => n.toLocaleString('en');

/**
 * What every measurement shares.
 * @typedef {object} GrowthRun
 * @property {object} sizes `profile.growth`: small, large, batch, gets, statsSamples, logRecords, appendRecords, resumeSamples
 * @property {string} outDir where this run's copies, stores and scratch files go
 * @property {object[]} rows the growth table, in the order measured
 * @property {object[]} copies each store copy's size and copy/sync time
 * @property {object} small the cached small store (`ensureStore`)
 * @property {object} large the cached large store
 * @property {object} inputs the cached NDJSON inputs (`ensureInputs`)
 * @property {number} serial how many one-off records have been made (their keys never repeat)
 * @property {number} storeItems items in the large store's copy now
 */

/** Everything the growth phase measures; `profile.growth` gives the sizes. */
export async function runGrowth(sizes, { dataDir, outDir, commit }) {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const started = performance.now();
  const small = await ensureStore(dataDir, sizes.small, commit);
  const large = await ensureStore(dataDir, sizes.large, commit);
  const inputs = await ensureInputs(dataDir, sizes);
  /** @type {GrowthRun} */
  const ctx = { sizes, outDir, rows: [], copies: [], small, large, inputs, serial: 0, storeItems: sizes.large };

  const largeCopy = await copyStore(ctx, large, 'large');
  await warmUp(ctx, largeCopy);
  const version = await getAndVersion(ctx, largeCopy);
  await readsAndChecks(ctx, largeCopy);
  await statsAfterImport(ctx, largeCopy);
  await imports(ctx, largeCopy);
  await gcWithOrphans(ctx, largeCopy);
  await resume(ctx);
  return {
    sizes,
    builds: [small, large].map(({ items, buildMs, builtAt, commit, reused }) => ({ items, buildMs, builtAt, commit, reused })),
    copies: ctx.copies,
    rows: ctx.rows,
    versionMs: version,
    durationS: (performance.now() - started) / 1000,
  };
}

// ---- running and recording ----------------------------------------------------------------------

async function bwrite(args, options) {
  const { cmd, args: argv } = bwriteCommand(...args);
  return measure(cmd, argv, options);
}

function summaryOf(result) {
  return JSON.parse(result.stdout);
}

/** One row of the growth table from its samples. */
function addRow(ctx, id, name, samples, { items = null, detail = '' } = {}) {
  const wallMs = median(samples.map((s) => s.wallMs));
  const rssValues = samples.map((s) => s.rssMb).filter((v) => v !== null);
  const row = {
    id,
    name,
    items,
    samples: samples.length,
    wallMs,
    minMs: Math.min(...samples.map((s) => s.wallMs)),
    maxMs: Math.max(...samples.map((s) => s.wallMs)),
    itemsPerSecond: items ? items / (wallMs / 1000) : null,
    peakRssMb: rssValues.length ? Math.max(...rssValues) : null,
    cpuMs: median(samples.map((s) => s.cpuMs ?? 0)),
    detail,
  };
  ctx.rows.push(row);
  log(`${name}: ${Math.round(wallMs)} ms${row.itemsPerSecond ? `, ${count(Math.round(row.itemsPerSecond))} items/s` : ''}${row.peakRssMb ? `, ${row.peakRssMb.toFixed(0)} MB` : ''}${detail ? ` (${detail})` : ''}`);
  return row;
}

/** Runs `fn` `max` times, or fewer once `budgetMs` is spent (at least once). */
async function samplesWithin(max, budgetMs, fn) {
  const samples = [];
  const start = performance.now();
  while (samples.length < max && (samples.length === 0 || performance.now() - start < budgetMs)) samples.push(await fn(samples.length));
  return samples;
}

/** `cp --reflink=auto -r` of a cached store, then `sync` so its writeback lands before anything is timed. */
async function copyStore(ctx, store, label) {
  const target = path.join(ctx.outDir, `${label}-${ctx.copies.length}`);
  const start = performance.now();
  await measure('cp', ['--reflink=auto', '-r', store.dir, target]);
  const copyMs = performance.now() - start;
  await measure('sync', []);
  ctx.copies.push({ items: store.items, copyMs, syncMs: performance.now() - start - copyMs });
  fs.chmodSync(target, 0o700);
  return target;
}

/** A file of `n` new records (seed `single`), each key used once in the whole run. */
function singleRecords(ctx, n) {
  const file = path.join(ctx.outDir, `single-${ctx.serial}.ndjson`);
  const lines = [];
  for (let i = 0; i < n; i++) {
    const id = crypto.createHash('sha256').update(`single:${ctx.serial++}`).digest('hex');
    lines.push(record(`${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-a${id.slice(17, 20)}-${id.slice(20, 32)}`, ctx.serial));
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function importSingle(ctx, store) {
  const result = await bwrite(['import', singleRecords(ctx, 1), '--store', store, '--json', '-q']);
  if (summaryOf(result).written !== 1) throw new Error('one-record import: not written');
  ctx.storeItems++;
  return result;
}

// ---- the measurements ---------------------------------------------------------------------------

// The copy's first open for writing upgrades an older schema in place: not part of any figure.
async function warmUp(ctx, store) {
  const first = await importSingle(ctx, store);
  addRow(ctx, 'firstImport', `first one-record import into the copy (${count(ctx.sizes.large)}; migrates an older schema)`, [first]);
}

async function getAndVersion(ctx, store) {
  const keys = drawnKeys(ctx.sizes.gets, 'store');
  const gets = [];
  const versions = [];
  for (let i = 0; i < ctx.sizes.gets; i++) {
    const result = await bwrite(['get', uuidAt(keys, i), '--store', store]);
    if (!result.stdout.startsWith(`{"id":"${uuidAt(keys, i)}"`)) throw new Error(`get ${uuidAt(keys, i)}: unexpected value`);
    gets.push(result);
    if (i % 5 === 0) versions.push(await bwrite(['--version']));
  }
  const version = addRow(ctx, 'version', 'bwrite --version', versions, { detail: 'one process each, between the gets' });
  addRow(ctx, 'get', `get of ${count(ctx.sizes.gets)} random existing keys (${count(ctx.sizes.large)})`, gets, { detail: 'one process per key; median per process' });
  return version.wallMs;
}

async function readsAndChecks(ctx, store) {
  const items = ctx.storeItems;
  const sink = path.join(ctx.outDir, 'export.ndjson');
  addRow(ctx, 'export', `export (${count(ctx.sizes.large)})`, [await bwrite(['export', '--store', store], { stdoutFile: '/dev/null' })], { items });
  for (const prefix of [MATCHING_PREFIX, EMPTY_PREFIX]) {
    const result = await bwrite(['export', '--prefix', prefix, '--store', store], { stdoutFile: sink });
    const lines = countLines(sink);
    if (prefix === EMPTY_PREFIX && lines !== 0) throw new Error(`export --prefix ${prefix}: ${lines} lines, expected none`);
    addRow(ctx, prefix === EMPTY_PREFIX ? 'exportNone' : 'exportPrefix', `export --prefix ${prefix} (${count(ctx.sizes.large)})`, [result], { detail: `${count(lines)} items, ${((lines / items) * 100).toFixed(2)} %` });
  }
  fs.rmSync(sink, { force: true });
  for (const deep of [false, true]) {
    const result = await bwrite(['verify', ...(deep ? ['--deep'] : []), '--json', '--store', store]);
    const report = summaryOf(result);
    if (!report.ok || report.items !== items) throw new Error(`verify: ${result.stdout.trim()}`);
    addRow(ctx, deep ? 'verifyDeep' : 'verify', `verify${deep ? ' --deep' : ''} (${count(ctx.sizes.large)})`, [result], { items });
  }
  const gc = await bwrite(['gc', '--json', '--store', store]);
  if (summaryOf(gc).removedBlobs !== 0) throw new Error(`gc with nothing to collect: ${gc.stdout.trim()}`);
  addRow(ctx, 'gc', `gc, nothing to collect (${count(ctx.sizes.large)})`, [gc], { items });
}

function countLines(file) {
  const text = fs.readFileSync(file, 'utf8');
  return text === '' ? 0 : text.split('\n').length - 1;
}

async function statsAfterImport(ctx, store) {
  const imports = [];
  for (const format of [[], ['--json'], ['--prometheus']]) {
    const samples = await samplesWithin(ctx.sizes.statsSamples, 30_000, async () => {
      imports.push(await importSingle(ctx, store));
      return bwrite(['stats', ...format, '--store', store]);
    });
    addRow(ctx, `stats${format[0] ?? ''}`, `stats${format.length ? ` ${format[0]}` : ''} right after a one-record import (${count(ctx.sizes.large)})`, samples);
  }
  addRow(ctx, 'oneRecordImport', `one-record import (${count(ctx.sizes.large)})`, imports);
}

async function imports(ctx, largeStore) {
  const { fresh, replace } = ctx.inputs;
  const run = async (input, store, what) => {
    const result = await bwrite(['import', input.file, '--store', store, '--json', '-q']);
    if (summaryOf(result).written !== input.items) throw new Error(`${what}: ${summaryOf(result).written} written, expected ${input.items}`);
    return result;
  };
  const empty = await samplesWithin(3, 60_000, (i) => run(fresh, path.join(ctx.outDir, `empty-${i}`), 'into an empty store'));
  addRow(ctx, 'intoEmpty', `${count(fresh.items)} new keys into an empty store`, empty, { items: fresh.items });
  const small = await samplesWithin(3, 60_000, async () => run(fresh, await copyStore(ctx, ctx.small, 'small'), `into ${ctx.sizes.small}`));
  addRow(ctx, 'intoSmall', `${count(fresh.items)} new keys into ${count(ctx.sizes.small)}`, small, { items: fresh.items });
  addRow(ctx, 'intoLarge', `${count(fresh.items)} new keys into ${count(ctx.sizes.large)}`, [await run(fresh, largeStore, `into ${ctx.sizes.large}`)], { items: fresh.items });
  ctx.storeItems += fresh.items;
  addRow(ctx, 'replaceLarge', `${count(replace.items)} replacements of existing keys in ${count(ctx.sizes.large)}`, [await run(replace, largeStore, 'replacements')], { items: replace.items });
}

// 1 % of the store's items as blob files nothing refers to (what deleted or replaced values leave).
async function gcWithOrphans(ctx, store) {
  const orphans = Math.round(ctx.sizes.large / 100);
  const blobs = path.join(store, 'blobs');
  for (let i = 0; i < orphans; i++) {
    const value = Buffer.from(record(`orphan-${i}`, i));
    const digest = crypto.createHash('sha256').update(value).digest('hex');
    const dir = path.join(blobs, digest.slice(0, 2));
    if (i < 256 || !fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, digest), value, { mode: 0o600 });
  }
  await measure('sync', []);
  const gc = await bwrite(['gc', '--json', '--store', store]);
  const removed = summaryOf(gc).removedBlobs;
  if (removed !== orphans) throw new Error(`gc with ${orphans} orphans removed ${removed}`);
  addRow(ctx, 'gcOrphans', `gc, 1 % orphans (${count(orphans)} blob files) in ${count(ctx.sizes.large)}`, [gc], { items: ctx.storeItems });
}

async function resume(ctx) {
  const { log: logInput, appends, alones } = ctx.inputs;
  const logFile = path.join(ctx.outDir, 'growing.ndjson');
  const store = path.join(ctx.outDir, 'log-store');
  fs.copyFileSync(logInput.file, logFile);
  const mb = (bytes) => `${(bytes / 1e6).toLocaleString('en', { maximumFractionDigits: bytes < 1e8 ? 1 : 0 })} MB`;
  const first = await bwrite(['import', logFile, '--store', store, '--json', '-q']);
  if (summaryOf(first).written !== logInput.items) throw new Error('log import: not every line written');
  addRow(ctx, 'logImport', `import a ${mb(logInput.bytes)} log into an empty store`, [first], { items: logInput.items, detail: 'sorted keys' });

  const oneLine = await samplesWithin(3, 60_000, async () => {
    fs.appendFileSync(logFile, fs.readFileSync(singleRecords(ctx, 1)));
    const result = await bwrite(['import', '--resume', logFile, '--store', store, '--json', '-q']);
    if (summaryOf(result).written !== 1) throw new Error(`--resume after a one-line append: ${result.stdout.trim()}`);
    return result;
  });
  addRow(ctx, 'resumeOneLine', `--resume of the ${mb(logInput.bytes)} log, 1 line appended`, oneLine);

  // Alternately: append a set and --resume, import another set of the same size alone.
  const appended = [];
  const alonely = [];
  for (let k = 0; k < appends.length; k++) {
    fs.appendFileSync(logFile, fs.readFileSync(appends[k].file));
    const resumed = await bwrite(['import', '--resume', logFile, '--store', store, '--json', '-q']);
    if (summaryOf(resumed).written !== appends[k].items) throw new Error(`--resume after ${mb(appends[k].bytes)} appended: ${resumed.stdout.trim()}`);
    appended.push(resumed);
    const alone = await bwrite(['import', alones[k].file, '--store', store, '--json', '-q']);
    if (summaryOf(alone).written !== alones[k].items) throw new Error('importing the appended size alone: not every line written');
    alonely.push(alone);
  }
  const size = mb(appends[0].bytes);
  addRow(ctx, 'resumeAppended', `--resume of the log, ${size} appended`, appended, { items: appends[0].items });
  addRow(ctx, 'appendedAlone', `import ${size} alone into the same store`, alonely, { items: alones[0].items, detail: 'alternating with the row above' });
}
