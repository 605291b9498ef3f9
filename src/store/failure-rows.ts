import type Database from 'better-sqlite3';
import type { FailureEntries } from './backend.js';

/** A failures-file line as the index keeps it until it is surely in the file. */
export interface FailureLine {
  seq: number;
  line: string;
}

/** A run whose failure entries may not all have reached its failures file, and where that file is. */
export interface UnfinishedFailures {
  runId: string;
  failuresFile: string | null;
  /** As the history has it: `running` for a run whose lease expired, null for a run it does not know. */
  status: string | null;
}

/**
 * Failure entries held in the index (schema version 3): each commits with the batch that passes
 * its line, is appended to the run's failures file after that commit, and leaves the index when
 * its run ends. A run that crashed in between leaves them here for `FailureFiles.complete`.
 */
export class FailureRows implements FailureEntries {
  private readonly db: Database.Database;
  private insertStatement: Database.Statement | undefined;

  constructor(db: Database.Database) {
    this.db = db;
  }

  /** Call inside the batch's transaction. */
  insert(runId: string, lines: readonly FailureLine[]): void {
    if (lines.length === 0) return;
    this.insertStatement ??= this.db.prepare(`INSERT OR REPLACE INTO failures (run_id, seq, entry) VALUES (?, ?, ?)`);
    for (const { seq, line } of lines) this.insertStatement.run(runId, seq, line);
  }

  /** Once the run's failures file holds every entry (closed, and flushed with --durable). */
  forget(runId: string): void {
    this.db.prepare(`DELETE FROM failures WHERE run_id = ?`).run(runId);
  }

  /** Runs that hold entries here and are no longer alive: ended, of unknown fate, or with an expired lease. */
  unfinished(now = Date.now()): UnfinishedFailures[] {
    return this.db
      .prepare(
        `SELECT f.run_id AS runId, r.failures_file AS failuresFile, r.status AS status FROM (SELECT DISTINCT run_id FROM failures) f LEFT JOIN runs r ON r.run_id = f.run_id
         WHERE r.run_id IS NULL OR r.status <> 'running' OR r.lease_expires_at IS NULL OR r.lease_expires_at < ?`,
      )
      .all(now) as UnfinishedFailures[];
  }

  entries(runId: string): FailureLine[] {
    return this.db.prepare(`SELECT seq, entry AS line FROM failures WHERE run_id = ? ORDER BY seq`).all(runId) as FailureLine[];
  }
}
