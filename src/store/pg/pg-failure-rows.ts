import os from 'node:os';
import type { FailureEntries } from '../backend.js';
import type { FailureLine, UnfinishedFailures } from '../failure-rows.js';
import type { PgSession } from './pg-session.js';

/**
 * FailureRows in PostgreSQL. A run's failures file is on the disk of the host that ran it, so only
 * that host completes it from the entries kept here (rule 5).
 */
export class PgFailureRows implements FailureEntries {
  private readonly session: PgSession;

  constructor(session: PgSession) {
    this.session = session;
  }

  insert(runId: string, lines: readonly FailureLine[]): void {
    if (lines.length === 0) return;
    // Inside a batch's transaction, sent with its COMMIT.
    this.session.defer([
      {
        sql: `INSERT INTO failures (run_id, seq, entry) SELECT $1, seq, entry FROM unnest($2::bigint[], $3::text[]) AS u(seq, entry)
          ON CONFLICT (run_id, seq) DO UPDATE SET entry = excluded.entry`,
        params: [runId, lines.map((line) => line.seq), lines.map((line) => line.line)],
      },
    ]);
  }

  forget(runId: string): void {
    this.session.change(`DELETE FROM failures WHERE run_id = $1`, [runId]);
  }

  unfinished(now = Date.now()): UnfinishedFailures[] {
    return this.session.rows<UnfinishedFailures>(
      `SELECT f.run_id AS "runId", r.failures_file AS "failuresFile", r.status AS status FROM (SELECT DISTINCT run_id FROM failures) f LEFT JOIN runs r ON r.run_id = f.run_id
       WHERE (r.run_id IS NULL OR r.status <> 'running' OR r.lease_expires_at IS NULL OR r.lease_expires_at < $1) AND (r.host = $2 OR r.host IS NULL)`,
      [now, os.hostname()],
    );
  }

  entries(runId: string): FailureLine[] {
    return this.session.rows<FailureLine>(`SELECT seq, entry AS line FROM failures WHERE run_id = $1 ORDER BY seq`, [runId]);
  }
}
