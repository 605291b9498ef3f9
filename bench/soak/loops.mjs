// The loops that run side by side until the deadline: importers (with faults, kill -9 and
// SIGTERM), gc, and stats. Each has its own seeded generator and stops by itself.
import { setTimeout as sleep } from 'node:timers/promises';
import { judgeImport, judgeMaintenance } from './judge.mjs';
import { Random } from './random.mjs';

const INLINE_MAX = ['0', '0', '256', '4096', null];
const BATCH_SIZE = ['20', '100', '500'];
const CONCURRENCY = ['4', '10', '32'];
const PAUSE_BETWEEN_IMPORTS_MS = { min: 0, max: 300 };
/** A signal lands within this many times a typical run's length, so most land while the run works. */
const SIGNAL_WITHIN_RUNS = 1.2;
const GC_EVERY_MS = { min: 2_000, max: 5_000 };
const STATS_EVERY_MS = { min: 200, max: 600 };
const IMPORT_TIME_LIMIT_MS = 120_000;
const MAINTENANCE_TIME_LIMIT_MS = 60_000;

/** `import --resume` over every input, again and again, with random options, faults and signals. */
export async function importerLoop(state, id) {
  const random = Random.derive(state.seed, 100 + id);
  while (state.running) {
    await runImporter(state, random);
    await sleep(random.int(PAUSE_BETWEEN_IMPORTS_MS.min, PAUSE_BETWEEN_IMPORTS_MS.max));
  }
}

async function runImporter(state, random) {
  const files = rotate(state.files, random.int(0, state.files.length - 1));
  const env = { BWRITE_FAULTS: state.options.faults, BWRITE_FAULTS_SEED: String(random.seed()) };
  const tracked = state.processes.start('import', importArgs(state, random, files), { env, timeoutMs: IMPORT_TIME_LIMIT_MS });
  state.counters.runsStarted++;
  const timer = planSignal(state, random, tracked);
  const result = await tracked.result;
  clearTimeout(timer);
  if (result.signalsSent.length === 0) state.noteImportTime(result.ms);
  recordImport(state, result);
}

function importArgs(state, random, files) {
  const args = ['import', '--store', state.store, '--resume', '--json', '--progress', 'none', '--batch-size', random.pick(BATCH_SIZE), '--concurrency', random.pick(CONCURRENCY)];
  const inlineMax = random.pick(INLINE_MAX);
  if (inlineMax !== null) args.push('--inline-max', inlineMax);
  return [...args, ...files];
}

/** Decides now whether (and when) this run gets kill -9 or SIGTERM. */
function planSignal(state, random, tracked) {
  const roll = random.next();
  const { killRate, termRate } = state.options;
  const signal = roll < killRate ? 'SIGKILL' : roll < killRate + termRate ? 'SIGTERM' : null;
  if (!signal) return undefined;
  return setTimeout(() => {
    if (!state.processes.signal(tracked, signal)) return;
    if (signal === 'SIGKILL') {
      state.counters.kills++;
      state.counters.lastKillAt = Date.now();
    }
    else state.counters.sigterms++;
  }, random.int(0, Math.round(SIGNAL_WITHIN_RUNS * state.typicalImportMs)));
}

/** Counts an import's outcome and notes any breach of the contract. */
export function recordImport(state, result) {
  const { status, summary, breaches, lateSignal } = judgeImport(result);
  if (status && status in state.counters.runs) state.counters.runs[status]++;
  if (lateSignal) state.counters.lateSignals++;
  if (summary) {
    state.runs.set(summary.runId, { startedAt: Date.parse(summary.startedAt), finishedAt: Date.parse(summary.finishedAt), status: summary.status });
    state.counters.committed += summary.written ?? 0;
    state.counters.retries += summary.retries ?? 0;
  }
  for (const breach of breaches) state.breach(`import: ${breach}`);
  return { status, summary, breaches };
}

/** `bwrite gc --json` every few seconds. */
export async function gcLoop(state) {
  const random = Random.derive(state.seed, 200);
  for (;;) {
    await sleep(random.int(GC_EVERY_MS.min, GC_EVERY_MS.max));
    if (!state.running) return;
    await runMaintenance(state, ['gc', '--store', state.store, '--json']);
    state.counters.gcRuns++;
  }
}

/** `bwrite stats --json` over and over. */
export async function statsLoop(state) {
  const random = Random.derive(state.seed, 300);
  while (state.running) {
    await runMaintenance(state, ['stats', '--store', state.store, '--json']);
    state.counters.statsRuns++;
    await sleep(random.int(STATS_EVERY_MS.min, STATS_EVERY_MS.max));
  }
}

async function runMaintenance(state, args) {
  const result = await state.processes.start(args[0], args, { timeoutMs: MAINTENANCE_TIME_LIMIT_MS }).result;
  for (const breach of judgeMaintenance(result).breaches) state.breach(`${args[0]}: ${breach}`);
}

function rotate(items, by) {
  return [...items.slice(by), ...items.slice(0, by)];
}
