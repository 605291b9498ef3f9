import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { RunHistory } from './backend.js';

export type RunStatus = 'running' | 'ok' | 'partial' | 'aborted' | 'interrupted' | 'crashed';

export interface RunRecord {
  runId: string;
  command: string;
  /** The process that ran it, for people; never probed (a pid may be reused, or in another namespace). */
  pid: number;
  startedAt: number;
  finishedAt: number | null;
  status: RunStatus;
  sources: string[];
  read: number;
  written: number;
  skipped: number;
  failed: number;
  /** Items a `delete` run removed (0 for every other run). */
  deleted: number;
  retries: number;
  bytes: number;
  itemsPerSecond: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  peakInFlight: number | null;
  failuresFile: string | null;
}

export type RunTotals = Pick<RunRecord, 'status' | 'read' | 'written' | 'skipped' | 'failed' | 'retries' | 'bytes' | 'itemsPerSecond' | 'latencyMs' | 'peakInFlight' | 'failuresFile' | 'finishedAt'> & Partial<Pick<RunRecord, 'deleted'>>;

export type RunDelta = Pick<RunRecord, 'read' | 'written' | 'skipped' | 'failed'> & Partial<Pick<RunRecord, 'deleted'>>;

/** What a run says of itself when it is registered. */
export interface RunStart {
  runId: string;
  command: string;
  startedAt: number;
  sources: string[];
  /** Where the run's failure entries go, so that a crashed run's file can be completed. */
  failuresFile?: string | null;
}

/** A run's lease as written in the index: until when it holds, and how old the blobs are it protects. */
export interface LeaseTerms {
  expiresAt: number;
  protectSince: number | null;
}

export interface RunRow {
  run_id: string;
  command: string;
  pid: number;
  started_at: number;
  finished_at: number | null;
  status: RunStatus;
  sources: string;
  read: number;
  written: number;
  skipped: number;
  failed: number;
  /** Absent from an index read by a user who may not upgrade its schema. */
  deleted?: number;
  retries: number;
  bytes: number;
  items_per_second: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  peak_in_flight: number | null;
  failures_file: string | null;
  lease_expires_at: number | null;
}

/** Whether a run stores records (import, retry, a library writer): what a "last success" is about; a delete does not. */
export function storesItems(run: Pick<RunRecord, 'command'>): boolean {
  return run.command !== 'delete';
}

/** A run id that sorts by start time: `20261124T101500Z-3fa9c1`. */
export function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * The history of runs, and their leases: a run is registered with a lease before it writes
 * anything, so that `gc` can see it (see RunLease and the rules in store.ts).
 */
export class RunLog implements RunHistory {
  private readonly db: Database.Database;
  private addStatement: Database.Statement | undefined;
  private renewStatement: Database.Statement | undefined;

  constructor(db: Database.Database) {
    this.db = db;
  }

  register(run: RunStart, lease: LeaseTerms): void {
    this.db
      .prepare(`INSERT INTO runs (run_id, command, pid, started_at, status, sources, lease_expires_at, protect_since, failures_file) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)`)
      .run(run.runId, run.command, process.pid, run.startedAt, JSON.stringify(run.sources), lease.expiresAt, lease.protectSince, run.failuresFile ?? null);
  }

  /** Extends a running run's lease; false when the run is no longer marked running. */
  renew(runId: string, lease: LeaseTerms): boolean {
    this.renewStatement ??= this.db.prepare(`UPDATE runs SET lease_expires_at = ?, protect_since = ? WHERE run_id = ? AND status = 'running'`);
    return this.renewStatement.run(lease.expiresAt, lease.protectSince, runId).changes > 0;
  }

  /** Whether the run is still marked running: no other process has declared it crashed. */
  isRunning(runId: string): boolean {
    return this.db.prepare(`SELECT 1 FROM runs WHERE run_id = ? AND status = 'running'`).get(runId) !== undefined;
  }

  /**
   * Marks a run crashed if it is still marked running and its lease expired (or it never had
   * one), so that it commits no more failure entries; false when it is alive after all.
   */
  markCrashed(runId: string, now = Date.now()): boolean {
    return (
      this.db
        .prepare(`UPDATE runs SET status = 'crashed', finished_at = coalesce(lease_expires_at, started_at) WHERE run_id = ? AND status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < ?)`)
        .run(runId, now).changes > 0
    );
  }


  /**
   * Runs `write` waiting at most `ms` for another connection's write lock (then SQLITE_BUSY), not
   * the index's usual busy timeout: a renewal from a timer must not hold the event loop that long.
   */
  waitingAtMost<T>(ms: number, write: () => T): T {
    const usual = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${ms}`);
    try {
      return write();
    } finally {
      this.db.pragma(`busy_timeout = ${usual}`);
    }
  }

  /** Marks a run that had finished (a library writer gone idle) as running again, with a new lease. */
  resume(runId: string, lease: LeaseTerms): void {
    this.db
      .prepare(`UPDATE runs SET status = 'running', finished_at = NULL, lease_expires_at = ?, protect_since = ? WHERE run_id = ?`)
      .run(lease.expiresAt, lease.protectSince, runId);
  }

  /**
   * Adds a batch's counts to a running run, inside the batch's own transaction: a run that
   * crashes still shows what it committed. finish() then sets the exact totals.
   */
  addCommitted(runId: string, delta: RunDelta): void {
    this.addStatement ??= this.db.prepare(
      `UPDATE runs SET read = read + ?, written = written + ?, skipped = skipped + ?, failed = failed + ?, deleted = deleted + ? WHERE run_id = ? AND status = 'running'`,
    );
    this.addStatement.run(delta.read, delta.written, delta.skipped, delta.failed, delta.deleted ?? 0, runId);
  }

  /** Sets a run's final totals; it protects no blob any more. */
  finish(runId: string, totals: RunTotals): void {
    this.db
      .prepare(
        `UPDATE runs SET finished_at = @finishedAt, status = @status, read = @read, written = @written, skipped = @skipped,
           failed = @failed, deleted = @deleted, retries = @retries, bytes = @bytes, items_per_second = @itemsPerSecond, p50_ms = @p50,
           p95_ms = @p95, p99_ms = @p99, peak_in_flight = @peakInFlight, failures_file = @failuresFile, protect_since = NULL
         WHERE run_id = @runId`,
      )
      .run({ deleted: 0, ...totals, ...totals.latencyMs, runId });
  }

  /** When a run started (ms) and what it read, or null for a run this store does not know. */
  info(runId: string): { startedAt: number; sources: string[] } | null {
    const row = this.db.prepare(`SELECT started_at, sources FROM runs WHERE run_id = ?`).get(runId) as { started_at: number; sources: string } | undefined;
    return row ? { startedAt: row.started_at, sources: JSON.parse(row.sources) as string[] } : null;
  }

  /**
   * How many runs started after `since` (ms) and stored at least one item, counted up to `limit`:
   * read through the start-time index, so the cost stays bounded however many runs there are.
   */
  countStoringSince(since: number, limit: number): number {
    return this.db.prepare(`SELECT count(*) FROM (SELECT 1 FROM runs WHERE started_at > ? AND written > 0 LIMIT ?)`).pluck().get(since, limit) as number;
  }

  /**
   * Latest first. A run still marked running whose lease expired (or that has none: a run of an
   * older bwrite) is reported as crashed.
   */
  list(limit = 50, now = Date.now()): RunRecord[] {
    const rows = this.db.prepare(`SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(limit) as RunRow[];
    return rows.map((row) => toRecord(row, now));
  }

  /** Runs whose failures file may still change: those holding an unexpired lease, and those whose failure entries the index keeps. */
  withFailuresPending(now = Date.now()): { runId: string; failuresFile: string | null }[] {
    return this.db
      .prepare(
        `SELECT run_id AS runId, failures_file AS failuresFile FROM runs
       WHERE (status = 'running' AND lease_expires_at > ?) OR run_id IN (SELECT DISTINCT run_id FROM failures)`,
      )
      .all(now) as { runId: string; failuresFile: string | null }[];
  }

  /** The oldest blob time each run holding an unexpired lease protects (runs protecting nothing left out). */
  protectedSince(now = Date.now()): number[] {
    return this.db
      .prepare(`SELECT protect_since FROM runs WHERE status = 'running' AND lease_expires_at > ? AND protect_since IS NOT NULL`)
      .pluck()
      .all(now) as number[];
  }
}

export function toRecord(row: RunRow, now: number): RunRecord {
  const lapsed = row.lease_expires_at === null || row.lease_expires_at <= now;
  return {
    runId: row.run_id,
    command: row.command,
    pid: row.pid,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status === 'running' && lapsed ? 'crashed' : row.status,
    sources: JSON.parse(row.sources) as string[],
    read: row.read,
    written: row.written,
    skipped: row.skipped,
    failed: row.failed,
    deleted: row.deleted ?? 0,
    retries: row.retries,
    bytes: row.bytes,
    itemsPerSecond: row.items_per_second,
    latencyMs: { p50: row.p50_ms, p95: row.p95_ms, p99: row.p99_ms },
    peakInFlight: row.peak_in_flight,
    failuresFile: row.failures_file,
  };
}
