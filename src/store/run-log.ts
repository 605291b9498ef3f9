import type Database from 'better-sqlite3';

export type RunStatus = 'running' | 'ok' | 'partial' | 'aborted' | 'interrupted' | 'crashed';

export interface RunRecord {
  runId: string;
  command: string;
  pid: number;
  startedAt: number;
  finishedAt: number | null;
  status: RunStatus;
  sources: string[];
  read: number;
  written: number;
  skipped: number;
  failed: number;
  retries: number;
  bytes: number;
  itemsPerSecond: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  peakInFlight: number | null;
  failuresFile: string | null;
}

export type RunTotals = Pick<RunRecord, 'status' | 'read' | 'written' | 'skipped' | 'failed' | 'retries' | 'bytes' | 'itemsPerSecond' | 'latencyMs' | 'peakInFlight' | 'failuresFile' | 'finishedAt'>;

export type RunDelta = Pick<RunRecord, 'read' | 'written' | 'skipped' | 'failed'>;

interface RunRow {
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
  retries: number;
  bytes: number;
  items_per_second: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  peak_in_flight: number | null;
  failures_file: string | null;
}

/** The history of runs; a run is registered before it writes anything, so `gc` can see it. */
export class RunLog {
  private readonly db: Database.Database;
  private addStatement: Database.Statement | undefined;

  constructor(db: Database.Database) {
    this.db = db;
  }

  register(run: { runId: string; command: string; startedAt: number; sources: string[]; failuresFile?: string | null }): void {
    this.db
      .prepare(`INSERT INTO runs (run_id, command, pid, started_at, status, sources, failures_file) VALUES (?, ?, ?, ?, 'running', ?, ?)`)
      .run(run.runId, run.command, process.pid, run.startedAt, JSON.stringify(run.sources), run.failuresFile ?? null);
  }

  /**
   * Adds a batch's counts to a running run, inside the batch's own transaction: a run that
   * crashes still shows what it committed. finish() then sets the exact totals.
   */
  addCommitted(runId: string, delta: RunDelta): void {
    this.addStatement ??= this.db.prepare(
      `UPDATE runs SET read = read + ?, written = written + ?, skipped = skipped + ?, failed = failed + ? WHERE run_id = ? AND status = 'running'`,
    );
    this.addStatement.run(delta.read, delta.written, delta.skipped, delta.failed, runId);
  }

  finish(runId: string, totals: RunTotals): void {
    this.db
      .prepare(
        `UPDATE runs SET finished_at = @finishedAt, status = @status, read = @read, written = @written, skipped = @skipped,
           failed = @failed, retries = @retries, bytes = @bytes, items_per_second = @itemsPerSecond, p50_ms = @p50,
           p95_ms = @p95, p99_ms = @p99, peak_in_flight = @peakInFlight, failures_file = @failuresFile
         WHERE run_id = @runId`,
      )
      .run({ ...totals, ...totals.latencyMs, runId });
  }

  /** When a run started (ms) and what it read, or null for a run this store does not know. */
  info(runId: string): { startedAt: number; sources: string[] } | null {
    const row = this.db.prepare(`SELECT started_at, sources FROM runs WHERE run_id = ?`).get(runId) as { started_at: number; sources: string } | undefined;
    return row ? { startedAt: row.started_at, sources: JSON.parse(row.sources) as string[] } : null;
  }

  /** Latest first. A run still marked running whose process is gone is reported as crashed. */
  list(limit = 50): RunRecord[] {
    const rows = this.db.prepare(`SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(limit) as RunRow[];
    return rows.map(toRecord);
  }

  /** Start times of imports that are running now (their process is alive). */
  liveStarts(): number[] {
    const rows = this.db.prepare(`SELECT pid, started_at FROM runs WHERE status = 'running'`).all() as { pid: number; started_at: number }[];
    return rows.filter((row) => processAlive(row.pid)).map((row) => row.started_at);
  }
}

function toRecord(row: RunRow): RunRecord {
  const status = row.status === 'running' && !processAlive(row.pid) ? 'crashed' : row.status;
  return {
    runId: row.run_id,
    command: row.command,
    pid: row.pid,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status,
    sources: JSON.parse(row.sources) as string[],
    read: row.read,
    written: row.written,
    skipped: row.skipped,
    failed: row.failed,
    retries: row.retries,
    bytes: row.bytes,
    itemsPerSecond: row.items_per_second,
    latencyMs: { p50: row.p50_ms, p95: row.p95_ms, p99: row.p99_ms },
    peakInFlight: row.peak_in_flight,
    failuresFile: row.failures_file,
  };
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
