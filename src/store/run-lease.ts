import { BwriteError } from '../errors.js';
import type { RunHistory } from './backend.js';
import type { LeaseTerms, RunStart, RunTotals } from './run-log.js';

/** How long a lease lasts unless the store is opened with another `leaseMs`; renewed every quarter of it. */
export const DEFAULT_LEASE_MS = 30_000;
/** Shorter leases are for tests; a lease must outlast a batch's commit by far (rule 3 in store.ts). */
export const MIN_LEASE_MS = 1000;

/**
 * A batch's claim under its run's lease: when it began (before it wrote any blob), and the count of
 * lapses at the moment its blobs were last known to be safe from gc.
 */
export interface LeaseHold {
  readonly id: number;
  readonly since: number;
  epoch: number;
}

/**
 * Thrown inside a batch's transaction when the lease may have been seen expired: the transaction
 * rolls back, and the batch commits once its blobs are secured again (see rule 3 in store.ts).
 */
export class LeaseLapsedError extends BwriteError {
  constructor(runId: string) {
    super('E_LEASE_LAPSED', `the lease of run ${runId} lapsed before its batch committed; its blobs are checked again`);
  }
}

export interface RunLeaseOptions {
  leaseMs: number;
  /**
   * For a library writer's own run: whenever it has nothing outstanding at a renewal, the run is
   * marked finished with these totals, and running again with its next batch.
   */
  pauseWith?: () => RunTotals;
  /** Called once the lease ends (finished, or its store closed). */
  onEnd?: () => void;
}

type LeaseState = 'new' | 'held' | 'paused' | 'ended';

// A renewal from the timer waits this long for another writer's lock, then tries at the next tick.
const TICK_WAIT_MS = 100;

/**
 * A run's lease in the index, held while the run may still commit rows for blobs it wrote: `gc`
 * spares what an unexpired lease protects, and `stats` shows a running run whose lease expired as
 * crashed. Renewed by an unref'd timer, so it never keeps a process alive.
 */
export class RunLease {
  readonly runId: string;
  private readonly runs: RunHistory;
  private readonly run: RunStart;
  private readonly leaseMs: number;
  private readonly pauseWith: (() => RunTotals) | undefined;
  private readonly onEnd: (() => void) | undefined;
  private state: LeaseState = 'new';
  private expiresAt = 0;
  private readonly holds = new Map<number, LeaseHold>();
  private lastHold = 0;
  /** Checks that found the lease at risk: a batch begun before the latest must refresh its blobs. */
  private lapses = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(runs: RunHistory, run: RunStart, options: RunLeaseOptions) {
    this.runs = runs;
    this.run = run;
    this.runId = run.runId;
    this.leaseMs = options.leaseMs;
    this.pauseWith = options.pauseWith;
    this.onEnd = options.onEnd;
  }

  /** Registers the run now, protecting every blob written since it started. */
  register(): void {
    if (this.state !== 'new') return;
    const now = Date.now();
    const terms = this.terms(now, Math.min(now, this.run.startedAt));
    this.runs.register(this.run, terms);
    this.hold(terms);
  }

  /**
   * A batch begins; call it before the batch writes any blob. An unregistered or paused run is
   * registered or resumed here, synchronously (an index error such as SQLITE_BUSY is thrown for
   * the caller to retry); a held lease writes nothing, as what it protects is no later than now.
   */
  begin(): LeaseHold {
    if (this.state === 'ended') throw new BwriteError('E_USAGE', `run ${this.runId} has ended: it takes no more batches`);
    const now = Date.now();
    if (this.state !== 'held') {
      const terms = this.terms(now, now);
      if (this.state === 'new') this.runs.register(this.run, terms);
      else this.runs.resume(this.runId, terms);
      this.hold(terms);
    }
    const hold: LeaseHold = { id: ++this.lastHold, since: now, epoch: this.lapses };
    this.holds.set(hold.id, hold);
    return hold;
  }

  /** The batch committed, or will never commit. */
  end(hold: LeaseHold): void {
    this.holds.delete(hold.id);
  }

  /**
   * Before a batch commits: renews the lease if it is at risk (throwing the index's error if the
   * renewal cannot be written). Returns the lapse count the batch's hold must reach: if it is
   * behind, the batch refreshes its blobs first, then sets its `epoch` to this.
   */
  secure(): number {
    const now = Date.now();
    if (this.atRisk(now)) this.renew(now);
    return this.lapses;
  }

  /**
   * Inside the batch's transaction, just before COMMIT: the lease must have a quarter of its
   * length left (so the COMMIT lands before any gc may see it expired), and no lapse may have
   * been seen since the batch's blobs were last secured.
   */
  confirm(hold: LeaseHold): void {
    if (this.atRisk(Date.now()) || hold.epoch !== this.lapses) throw new LeaseLapsedError(this.runId);
  }

  /**
   * Writes the run's final totals and gives the lease up (nothing is written for a run never
   * registered). If the write throws, the lease is still held and finish can be called again.
   */
  finish(totals: RunTotals): void {
    if (this.state === 'held' || this.state === 'paused') this.runs.finish(this.runId, totals);
    this.giveUp();
  }

  /** The store is closing: a library run with nothing outstanding is marked finished; the timer stops. */
  close(): void {
    if (this.state === 'held' && this.holds.size === 0 && this.pauseWith) {
      try {
        this.runs.finish(this.runId, this.pauseWith());
      } catch {
        // Left running: it shows as crashed once its lease expires, with what it committed.
      }
    }
    this.giveUp();
  }

  private hold(terms: LeaseTerms): void {
    this.expiresAt = terms.expiresAt;
    this.state = 'held';
    this.timer ??= setInterval(() => this.tick(), Math.max(1, Math.floor(this.leaseMs / 4))).unref();
  }

  private tick(): void {
    if (this.state !== 'held') return;
    try {
      this.runs.waitingAtMost(TICK_WAIT_MS, () => {
        if (this.holds.size === 0 && this.pauseWith) this.pause();
        else this.renew(Date.now());
      });
    } catch {
      // SQLITE_BUSY, most likely: tried again at the next tick.
    }
  }

  /** Protects blobs from the start of the oldest batch outstanding, or from now if there is none. */
  private renew(now: number): void {
    if (this.atRisk(now)) this.lapses++;
    let oldest = now;
    for (const hold of this.holds.values()) oldest = Math.min(oldest, hold.since);
    const terms = this.terms(now, oldest);
    this.runs.renew(this.runId, terms);
    this.expiresAt = terms.expiresAt;
  }

  private pause(): void {
    this.runs.finish(this.runId, this.pauseWith!());
    this.state = 'paused';
    this.stopTimer();
  }

  /** Less than a quarter of the lease left: a gc (whose clock may run a little ahead) may see it expired. */
  private atRisk(now: number): boolean {
    return now >= this.expiresAt - this.leaseMs / 4;
  }

  private terms(now: number, protectSince: number): LeaseTerms {
    return { expiresAt: now + this.leaseMs, protectSince };
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private giveUp(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.stopTimer();
    this.onEnd?.();
  }
}
