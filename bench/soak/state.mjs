// What the loops of one soak share: the store, the inputs, the clock, the processes, and what
// has happened so far.
import path from 'node:path';
import { RSS_LIMIT_MB } from '../targets.mjs';
import { BwriteProcesses } from './processes.mjs';

export const RUN_STATUSES = ['ok', 'partial', 'aborted', 'interrupted', 'killed'];

export class SoakState {
  constructor(options, dir) {
    this.options = options;
    this.seed = options.seed;
    this.dir = dir;
    this.store = path.join(dir, 'store');
    /** GrowingInput per input file. */
    this.inputs = [];
    this.startedAt = Date.now();
    /** Set as the loops start (startClock), so that setting up takes nothing from the soak. */
    this.deadline = Infinity;
    /** False once the deadline passed (or the soak is stopped): inputs stop growing, loops stop starting runs. */
    this.growing = true;
    /** The soak was stopped before its deadline (Ctrl-C). */
    this.stoppedEarly = false;
    this.processes = new BwriteProcesses(options.bwrite, RSS_LIMIT_MB * 1024);
    this.counters = {
      runsStarted: 0,
      runs: Object.fromEntries(RUN_STATUSES.map((status) => [status, 0])),
      committed: 0,
      retries: 0,
      kills: 0,
      /** When the last kill -9 was sent (ms since the epoch; 0: none yet). */
      lastKillAt: 0,
      sigterms: 0,
      /** Signals that landed after the run's summary was printed, and ended the process as it exited. */
      lateSignals: 0,
      gcRuns: 0,
      statsRuns: 0,
    };
    /** Run id → when it started and finished (ms) and its status, from each --json summary. */
    this.runs = new Map();
    /** How long an import runs when nothing stops it (a moving average): signals are timed by it. */
    this.typicalImportMs = 1000;
    /** What processes did that the contract does not allow, one sentence each. */
    this.breaches = [];
  }

  get running() {
    return this.growing && Date.now() < this.deadline;
  }

  startClock() {
    this.deadline = Date.now() + this.options.seconds * 1000;
  }

  /** Called when the deadline passes: nothing new starts. */
  stop() {
    this.growing = false;
  }

  noteImportTime(ms) {
    this.typicalImportMs = 0.8 * this.typicalImportMs + 0.2 * ms;
  }

  breach(message) {
    this.breaches.push(message);
  }

  log(text) {
    this.options.log?.(text);
  }

  get files() {
    return this.inputs.map((input) => input.file);
  }

  get elapsedSeconds() {
    return (Date.now() - this.startedAt) / 1000;
  }
}
