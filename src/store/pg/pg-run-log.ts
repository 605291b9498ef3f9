import os from 'node:os';
import type { RunHistory } from '../backend.js';
import { toRecord, type LeaseTerms, type RunDelta, type RunRecord, type RunRow, type RunStart, type RunTotals } from '../run-log.js';
import type { PgSession } from './pg-session.js';
import type { ConnectionName, Statement } from './sync-bridge.js';

/**
 * RunLog's history and leases in PostgreSQL. Each run records its host: its failures file is on
 * that host's disk. Renewals from the lease timer go through a connection of their own, so that one
 * never lands inside a transaction the main connection has open.
 */
export class PgRunLog implements RunHistory {
  private readonly session: PgSession;
  private conn: ConnectionName = 'main';
  /** The counts statement addCommitted deferred last: while it is unsent, later counts of the run add to it. */
  private lastCounts: (Statement & { params: unknown[] }) | null = null;

  constructor(session: PgSession) {
    this.session = session;
  }

  register(run: RunStart, lease: LeaseTerms): void {
    this.change(
      `INSERT INTO runs (run_id, command, pid, host, started_at, status, sources, lease_expires_at, protect_since, failures_file) VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9)`,
      [run.runId, run.command, process.pid, os.hostname(), run.startedAt, JSON.stringify(run.sources), lease.expiresAt, lease.protectSince, run.failuresFile ?? null],
    );
  }

  renew(runId: string, lease: LeaseTerms): boolean {
    return this.change(`UPDATE runs SET lease_expires_at = $1, protect_since = $2 WHERE run_id = $3 AND status = 'running'`, [lease.expiresAt, lease.protectSince, runId]) > 0;
  }

  isRunning(runId: string): boolean {
    return this.session.rows(`SELECT 1 FROM runs WHERE run_id = $1 AND status = 'running'`, [runId]).length > 0;
  }

  markCrashed(runId: string, now = Date.now()): boolean {
    return (
      this.change(
        `UPDATE runs SET status = 'crashed', finished_at = coalesce(lease_expires_at, started_at) WHERE run_id = $1 AND status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < $2)`,
        [runId, now],
      ) > 0
    );
  }

  /**
   * Runs `write` on the lease connection, waiting at most `ms` for a row another transaction
   * holds: a renewal from a timer must not hold the event loop that long. The timer may fire while
   * a transaction of the main connection awaits the server (a batch's, gc's): the renewal is not
   * that transaction's, to commit or roll back with it.
   */
  waitingAtMost<T>(ms: number, write: () => T): T {
    this.conn = 'lease';
    try {
      this.session.run([{ sql: `SET lock_timeout = ${Math.max(1, Math.floor(ms))}` }], 'lease');
      return write();
    } finally {
      this.conn = 'main';
    }
  }

  resume(runId: string, lease: LeaseTerms): void {
    this.change(`UPDATE runs SET status = 'running', finished_at = NULL, lease_expires_at = $1, protect_since = $2 WHERE run_id = $3`, [lease.expiresAt, lease.protectSince, runId]);
  }

  /**
   * Inside a batch's transaction: sent with its COMMIT, since nothing reads what it changed; the
   * counts of the batches that share a transaction go in one statement.
   */
  addCommitted(runId: string, delta: RunDelta): void {
    const counts = [delta.read, delta.written, delta.skipped, delta.failed, delta.deleted ?? 0];
    const last = this.lastCounts;
    if (last && last.params[5] === runId && this.session.isDeferred(last)) {
      counts.forEach((count, i) => (last.params[i] = (last.params[i] as number) + count));
      return;
    }
    this.lastCounts = {
      sql: `UPDATE runs SET read = read + $1, written = written + $2, skipped = skipped + $3, failed = failed + $4, deleted = deleted + $5 WHERE run_id = $6 AND status = 'running'`,
      params: [...counts, runId],
    };
    this.session.defer([this.lastCounts]);
  }

  finish(runId: string, totals: RunTotals): void {
    this.change(
      `UPDATE runs SET finished_at = $1, status = $2, read = $3, written = $4, skipped = $5, failed = $6, deleted = $7, retries = $8, bytes = $9,
         items_per_second = $10, p50_ms = $11, p95_ms = $12, p99_ms = $13, peak_in_flight = $14, failures_file = $15, protect_since = NULL
       WHERE run_id = $16`,
      [
        totals.finishedAt,
        totals.status,
        totals.read,
        totals.written,
        totals.skipped,
        totals.failed,
        totals.deleted ?? 0,
        totals.retries,
        totals.bytes,
        totals.itemsPerSecond,
        totals.latencyMs.p50,
        totals.latencyMs.p95,
        totals.latencyMs.p99,
        totals.peakInFlight,
        totals.failuresFile,
        runId,
      ],
    );
  }

  info(runId: string): { startedAt: number; sources: string[] } | null {
    const [row] = this.session.rows<{ started_at: number; sources: string }>(`SELECT started_at, sources FROM runs WHERE run_id = $1`, [runId]);
    return row ? { startedAt: row.started_at, sources: JSON.parse(row.sources) as string[] } : null;
  }

  countStoringSince(since: number, limit: number): number {
    return this.session.rows<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM runs WHERE started_at > $1 AND written > 0 LIMIT $2) r`, [since, limit])[0]!.n;
  }

  list(limit = 50, now = Date.now()): RunRecord[] {
    return this.session.rows<RunRow>(`SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT $1`, [limit]).map((row) => toRecord(row, now));
  }

  /** Of this host's runs only: another host's failures files are on its own disk. */
  withFailuresPending(now = Date.now()): { runId: string; failuresFile: string | null }[] {
    return this.session.rows(
      `SELECT run_id AS "runId", failures_file AS "failuresFile" FROM runs
       WHERE (host = $2 OR host IS NULL) AND ((status = 'running' AND lease_expires_at > $1) OR run_id IN (SELECT DISTINCT run_id FROM failures))`,
      [now, os.hostname()],
    );
  }

  protectedSince(now = Date.now()): number[] {
    return this.session
      .rows<{ protect_since: number }>(`SELECT protect_since FROM runs WHERE status = 'running' AND lease_expires_at > $1 AND protect_since IS NOT NULL`, [now])
      .map((row) => row.protect_since);
  }

  private change(sql: string, params: readonly unknown[]): number {
    return this.session.run([{ sql, params }], this.conn)[0]!.rowCount;
  }
}
