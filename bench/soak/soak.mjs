// One soak on a fresh store in a temp dir: growing inputs, overlapping importers with faults and
// signals, gc and stats in loops; then a clean import and the checks. See bench/README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BWRITE } from '../tools.mjs';
import { DEFAULT_LEASE_MS } from '../../dist/store/run-lease.js';
import { finalImport, runChecks } from './checks.mjs';
import { GrowingInput, growInput } from './inputs.mjs';
import { gcLoop, importerLoop, recordImport, statsLoop } from './loops.mjs';
import { Random } from './random.mjs';
import { summarize } from './report.mjs';
import { SoakState } from './state.mjs';

/** 5 % transient faults at both points; a few permanent (EACCES fails the item) and fatal ones (the run aborts). */
export const DEFAULT_FAULTS = 'blob:EAGAIN:0.05,index:SQLITE_BUSY:0.05,blob:EACCES:0.01,index:SQLITE_IOERR:0.002';

export const DEFAULTS = {
  seconds: 60,
  seed: 1,
  importers: 4,
  inputs: 4,
  /** Lines appended per second, over all inputs. */
  linesPerSecond: 100,
  faults: DEFAULT_FAULTS,
  /** Shares of importer runs that get kill -9 / SIGTERM at a random moment of their first seconds. */
  killRate: 0.1,
  termRate: 0.1,
  keep: false,
  bwrite: BWRITE,
  /** Where progress lines go (every PROGRESS_EVERY_MS); null for none. */
  log: null,
  /** Aborting it ends the soak before its deadline; the checks still run. */
  signal: null,
};

const INITIAL_LINES = 50;
const PROGRESS_EVERY_MS = 30_000;
/** Past a killed run's lease, so that a clock read a moment early does not leave it alive. */
const LEASE_MARGIN_MS = 1_000;

/** Runs a soak and returns its summary and checks; the temp dir is removed unless `keep`. */
export async function runSoak(overrides = {}) {
  const options = { ...DEFAULTS, ...overrides };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bwrite-soak-'));
  const state = new SoakState(options, dir);
  try {
    await setUp(state);
    await soak(state);
    state.log(`soak: ${state.stoppedEarly ? 'stopped' : 'deadline passed'} after ${state.elapsedSeconds.toFixed(0)} s; a clean import of what is left, then the checks`);
    await leasesLapsed(state);
    await finalImport(state);
    const { checks, failures } = await runChecks(state);
    return summarize(state, checks, failures);
  } finally {
    state.stop();
    await state.processes.killAll();
    state.processes.stop();
    for (const input of state.inputs) input.close();
    if (!options.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The inputs with their first lines, and the store, made by one clean import of them. */
async function setUp(state) {
  const inputsDir = path.join(state.dir, 'inputs');
  fs.mkdirSync(inputsDir);
  for (let i = 1; i <= state.options.inputs; i++) {
    const input = new GrowingInput(path.join(inputsDir, `in-${i}.ndjson`), i, Random.derive(state.seed, i));
    input.appendBurst(INITIAL_LINES);
    state.inputs.push(input);
  }
  const args = ['import', '--store', state.store, '--resume', '--json', '--progress', 'none', ...state.files];
  const result = await state.processes.start('import', args, { timeoutMs: 60_000 }).result;
  state.counters.runsStarted++;
  recordImport(state, result);
  if (!fs.existsSync(path.join(state.store, 'index.db'))) throw new Error(`soak: the first import made no store: ${result.stderr}`);
}

/** Everything at once until the deadline; then growth stops and every loop ends its last run. */
async function soak(state) {
  const { options } = state;
  state.startClock();
  const growth = state.inputs.map((input) => growInput(state, input, options.linesPerSecond / options.inputs));
  const loops = [gcLoop(state), statsLoop(state)];
  for (let i = 0; i < options.importers; i++) loops.push(importerLoop(state, i));
  const progress = setInterval(() => state.log(progressLine(state)), PROGRESS_EVERY_MS);
  try {
    await sleep(Math.max(0, state.deadline - Date.now()), undefined, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    if (error.name !== 'AbortError') throw error;
    state.stoppedEarly = true;
  } finally {
    clearInterval(progress);
    state.stop();
  }
  await Promise.all(growth);
  // Every process has a time limit, so the loops end.
  await Promise.all(loops);
}

/**
 * Waits until the lease of every run killed by kill -9 has expired. Until then such a run counts as
 * alive, and failure entries it committed but had not yet appended stay in the index, where the
 * contract keeps them: the next import completes its failures file only once its lease is over.
 */
async function leasesLapsed(state) {
  const { lastKillAt } = state.counters;
  const wait = lastKillAt + DEFAULT_LEASE_MS + LEASE_MARGIN_MS - Date.now();
  if (lastKillAt === 0 || wait <= 0) return;
  state.log(`soak: waiting ${(wait / 1000).toFixed(0)} s for the leases of killed runs to expire`);
  await sleep(wait);
}

function progressLine(state) {
  const { counters } = state;
  const lines = state.inputs.reduce((sum, input) => sum + input.lines.length, 0);
  return `soak: ${state.elapsedSeconds.toFixed(0)} s of ${state.options.seconds}: ${counters.runsStarted} imports started, ${lines} lines appended, ${counters.kills} kill -9, ${counters.sigterms} SIGTERM, ${counters.gcRuns} gc, ${counters.statsRuns} stats`;
}

export { formatSummary, summaryJson } from './report.mjs';
