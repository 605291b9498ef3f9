// npm run bench [-- --quick]: generates the inputs, runs every configuration in interleaved
// rounds, checks issue 4's targets, sweeps --concurrency and --batch-size, times start-up,
// and writes bench/.out/results.{json,md} (quick: results-quick.*). See bench/README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALL_FAILING, ALL_STORED, mainConfigs } from './configs.mjs';
import { ensureDatasets, ensureSharedDatasets } from './data.mjs';
import { runGrowth } from './growth.mjs';
import { describeMachine } from './machine.mjs';
import { hasGnuTime } from './measure.mjs';
import { runBigInput, runBigJson, runFailingInput } from './memory.mjs';
import { parseOptions } from './options.mjs';
import { loadNote, writeResults } from './report.mjs';
import { removeLeftovers, removeStores, removeStoresInBackground, runRounds } from './rounds.mjs';
import { SHARED, runShared, sharedServices, skippedNote } from './shared.mjs';
import { runStartup } from './startup.mjs';
import { runSweep } from './sweep.mjs';
import { checkBigJson, checkFailingMemory, checkGrowth, checkMemory, checkRatios, checkSharedMemory, checkStartup } from './targets.mjs';
import { BENCH_DIR, BWRITE, ROOT, useBuildSnapshot, which } from './tools.mjs';

const options = parseOptions(process.argv.slice(2));
const { profile } = options;
// `--only growth` runs the growth phase alone, `--only shared` the shared store alone (or both);
// `--only` naming only other rows leaves them out.
const GROWTH = 'growth';
const sectionsOnly = options.only !== null && options.only.length > 0 && options.only.every((name) => name === GROWTH || name === SHARED);
const withGrowth = options.growth && (options.only === null || options.only.includes(GROWTH));
const withShared = options.shared && (options.only === null || options.only.includes(SHARED));
const dataDir = path.join(BENCH_DIR, '.data');
const outDir = path.join(BENCH_DIR, '.out');
const storesDir = path.join(outDir, 'stores');
const started = Date.now();
const loadBefore = os.loadavg()[0];
const step = (text) => process.stderr.write(`\n${text} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);

if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error(`bench: ${path.relative(process.cwd(), BWRITE)} is not built; run \`npm run build\` (npm run bench does it).`);
  process.exit(2);
}

useBuildSnapshot(path.join(outDir, 'build'));
const machine = describeMachine(outDir);
step(`bwrite bench, ${options.mode} mode (commit ${machine.commit ?? '?'}${machine.uncommittedChanges ? ' + changes' : ''}): data`);
const sets = sectionsOnly ? {} : await ensureDatasets(dataDir, profile);
const notes = [];
if (!hasGnuTime()) notes.push('/usr/bin/time (GNU time) is missing: peak RSS and CPU time are not measured.');

removeLeftovers(storesDir); // an interrupted run's, or the last run's background removal
let main = [];
if (!sectionsOnly) {
  step('main table');
  const { configs, notes: configNotes } = mainConfigs(sets, { sqliteUtils: which('sqlite-utils') }, { targetsOnly: profile.targetsOnly });
  notes.push(...configNotes);
  const selected = options.only ? configs.filter((c) => options.only.includes(c.name)) : configs;
  main = await runRounds(selected, { rounds: profile.rounds, outDir: path.join(storesDir, 'main'), label: 'main' });
}

// The phases that follow write few files: the window after removing the main stores passes there.
let big = null;
const base = main.find((row) => row.name === 'bwrite');
if (options.rss && sets.big && base) {
  removeStores(storesDir);
  step('memory on a large input');
  big = await runBigInput(sets.big, base, storesDir);
  removeStores(storesDir, { fewFiles: true });
} else if (!sectionsOnly) notes.push('RSS growth (100k vs 2M records) is measured in full mode only.');

let bigJson = null;
if (options.rss && sets.bigJson && (!options.only || options.only.includes('bwrite big json'))) {
  removeStores(storesDir);
  step('memory on a 2 GB JSON array');
  bigJson = await runBigJson(sets.bigJson, storesDir);
  removeStores(storesDir, { fewFiles: true });
} else if (!sectionsOnly) notes.push('Peak RSS of a 2 GB JSON array (--format json) is measured in full mode only.');

// --only names main-table rows, and these two as well. Their stores hold a few files each.
let failing = null;
const failingOnly = options.only?.filter((name) => name === ALL_STORED || name === ALL_FAILING) ?? null;
if (options.rss && sets.failing && (!failingOnly || failingOnly.length > 0)) {
  step('memory when every record fails');
  const failingStores = path.join(storesDir, 'failing');
  failing = await runFailingInput(sets.failing, { rounds: profile.rounds, only: failingOnly }, failingStores);
  removeStores(failingStores, { fewFiles: true });
}

let startup = null;
if (options.startup && sets.small && !sectionsOnly) {
  removeStores(storesDir);
  step('start-up');
  startup = await runStartup(sets.small, storesDir);
  removeStores(storesDir, { fewFiles: true });
} else if (!sectionsOnly) notes.push('Start-up on a 1M-item store is measured in full mode only.');

let sweep = null;
if (options.sweep && !sectionsOnly) {
  step('sweep');
  sweep = await runSweep(sets.sweep, profile, path.join(storesDir, 'sweep'));
}

let growth = null;
if (withGrowth) {
  step('growth');
  growth = await runGrowth(profile.growth, { dataDir: path.join(dataDir, 'growth'), outDir: path.join(storesDir, 'growth'), commit: machine.commit });
}

let shared = null;
if (withShared) {
  step('shared store');
  const services = sharedServices();
  if (services.missing) {
    shared = { skipped: skippedNote(services.missing) };
    process.stderr.write(`  ${shared.skipped}\n`);
  } else {
    const sharedSets = await ensureSharedDatasets(dataDir, profile);
    shared = await runShared(sharedSets, services, { rounds: profile.rounds, outDir: path.join(storesDir, 'shared') });
    removeStores(path.join(storesDir, 'shared'), { fewFiles: true });
  }
} else if (options.shared) notes.push('The shared store (issue 17) was left out by --only.');

removeStoresInBackground(storesDir);
const after = describeMachine(outDir);
if (after.commit !== machine.commit) notes.push(`The repository moved from ${machine.commit} to ${after.commit} during the run; the figures are of ${machine.commit} (a copy of its build was measured).`);
const busy = loadNote(main, machine.cores, loadBefore);
if (busy) notes.push(busy);
const results = {
  mode: options.mode,
  machine,
  rounds: profile.rounds,
  sweepRounds: profile.sweepRounds,
  profile,
  datasets: Object.fromEntries(Object.entries(sets).map(([k, d]) => [k, { file: path.relative(ROOT, d.file), items: d.items, valueBytes: d.valueBytes }])),
  sweepDataset: sets.sweep ? { items: sets.sweep.items } : null,
  main,
  ratios: main.length || shared ? checkRatios([...main, ...(shared?.rows ?? [])]) : [],
  checks: [...checkMemory(main, big), ...(shared?.rows ? checkSharedMemory(shared.rows) : []), ...(bigJson ? checkBigJson(bigJson) : []), ...(failing ? checkFailingMemory(failing) : []), ...(startup ? checkStartup(startup) : []), ...(growth ? checkGrowth(growth) : [])],
  growth,
  shared,
  big,
  bigJson,
  failing,
  sweep,
  startup,
  notes,
  durationS: (Date.now() - started) / 1000,
};
step('done');
const { markdown, files } = writeResults(outDir, results);
process.stdout.write(`\n${markdown}`);
process.stderr.write(`\nwritten: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')} (${results.durationS.toFixed(0)} s)\n`);
