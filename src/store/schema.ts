import type Database from 'better-sqlite3';
import { BwriteError } from '../errors.js';

export const SCHEMA_VERSION = 5;
export const STORE_APP = 'bwrite';

/** Each entry upgrades the schema from version (index) to (index + 1). */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE items (
    key        TEXT PRIMARY KEY,
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    type       TEXT NOT NULL,
    inline     BLOB,              -- the value itself when it is kept in the index, else NULL
    source     TEXT,
    line       INTEGER,
    run_id     TEXT,
    created_at INTEGER NOT NULL,  -- ms since the epoch
    updated_at INTEGER NOT NULL
  );
  -- No index on sha256: measured, it halves the insert rate (46k → 24k rows/s of 1 KB values);
  -- gc, verify and stats scan the table instead.
  CREATE TABLE runs (
    run_id           TEXT PRIMARY KEY,
    command          TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    status           TEXT NOT NULL,   -- running, ok, partial, aborted, interrupted
    sources          TEXT NOT NULL,   -- JSON array of source names
    read             INTEGER NOT NULL DEFAULT 0,
    written          INTEGER NOT NULL DEFAULT 0,
    skipped          INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    retries          INTEGER NOT NULL DEFAULT 0,
    bytes            INTEGER NOT NULL DEFAULT 0,
    items_per_second REAL,
    p50_ms           REAL,
    p95_ms           REAL,
    p99_ms           REAL,
    peak_in_flight   INTEGER,
    failures_file    TEXT
  );
  CREATE INDEX runs_started ON runs(started_at);
  CREATE TABLE sources (
    name            TEXT PRIMARY KEY,  -- absolute path, or --source-name
    dev             INTEGER,
    ino             INTEGER,
    fingerprint     TEXT,              -- SHA-256 of the first fingerprint_len bytes read
    fingerprint_len INTEGER NOT NULL DEFAULT 0,
    line            INTEGER NOT NULL,  -- last line of the committed, gap-free prefix
    bytes           INTEGER NOT NULL,  -- (decompressed) bytes up to the end of that line
    records         INTEGER NOT NULL,  -- records in that prefix
    run_id          TEXT,
    updated_at      INTEGER NOT NULL
  );
  `,
  // Running totals, so that `stats` does not scan every item: items, bytes and types are kept by
  // each batch's transaction. Distinct values would need a row per digest kept up to date, which
  // costs every import about what an index on items.sha256 would; they are counted by a scan when
  // asked, and the count is kept with the generation it was made at, so it is reused until a
  // batch changes the items again (see docs/internals.md, How stats counts).
  `
  CREATE TABLE type_totals (
    type         TEXT PRIMARY KEY,
    items        INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    inline_items INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL  -- one more for every committed batch that changed the items
  );
  CREATE TABLE value_totals (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    generation    INTEGER NOT NULL,  -- of the items counted
    blobs         INTEGER NOT NULL,  -- distinct values at least one item keeps in a blob file
    inline_values INTEGER NOT NULL,  -- distinct values kept only inside the index
    stored_bytes  INTEGER NOT NULL   -- their sizes, each value once
  );
  INSERT INTO type_totals SELECT type, count(*), sum(size), sum(inline IS NOT NULL) FROM items GROUP BY type;
  INSERT INTO generation VALUES (1, 1);
  `,
  // Leases instead of pid probes: a run renews lease_expires_at while it is alive, and says in
  // protect_since how old the blobs are that it may still be about to refer to (null: none), so gc
  // and `stats` work across hosts and PID namespaces. A run of an older bwrite has no lease: it is
  // taken as crashed. Failure entries commit here with the batch that passes their lines, then go
  // to the run's failures file; the rows of a run that ended are removed, and those of a run that
  // crashed complete its file (once each, by their seq) before they are removed. Watermarks saved
  // from now on count every record of their prefix (see RECORDS_COUNTED_SINCE in index-db.ts).
  `
  ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
  ALTER TABLE runs ADD COLUMN protect_since INTEGER;
  CREATE TABLE failures (
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,   -- 1, 2, … in the order the run recorded them
    entry  TEXT NOT NULL,      -- the failures-file line, as JSON
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;
  INSERT INTO meta (name, value) VALUES ('watermark_records_since', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
  `,
  // A kept count of distinct values is dated, so that `stats` can show it with when it was made
  // rather than scan every item after each change. A count of the items as they are now is dated
  // now; an older one is dropped, as its time is unknown and `stats` could not date it.
  `
  ALTER TABLE value_totals ADD COLUMN counted_at INTEGER;  -- ms since the epoch
  UPDATE value_totals SET counted_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE generation = (SELECT value FROM generation WHERE id = 1);
  DELETE FROM value_totals WHERE counted_at IS NULL;
  `,
  // `bwrite delete` is a run too: what it removed is its own count, not "written" or "skipped".
  `
  ALTER TABLE runs ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
  `,
];

/** Creates or upgrades the schema; refuses a database that is not a bwrite store, or a newer one. */
export function migrate(db: Database.Database, dbPath: string): void {
  if (schemaVersion(db, dbPath) === SCHEMA_VERSION) return;
  // Two processes may open a new store at once: the check is repeated under the write lock.
  db.transaction(() => {
    const current = schemaVersion(db, dbPath);
    for (let version = current; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version]!);
    db.prepare(`INSERT OR REPLACE INTO meta (name, value) VALUES ('app', ?), ('schema_version', ?)`).run(STORE_APP, String(SCHEMA_VERSION));
  }).immediate();
}

/** The schema version of a bwrite index (0: none yet); refuses a database that is not one, or a newer one. */
export function schemaVersion(db: Database.Database, dbPath: string): number {
  const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get() !== undefined;
  if (!hasMeta) {
    const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get() as { n: number };
    if (tables.n > 0) throw new BwriteError('E_STORE', `${dbPath} is an SQLite database but not a bwrite store`);
    return 0;
  }
  const rows = db.prepare(`SELECT name, value FROM meta WHERE name IN ('app', 'schema_version')`).all() as { name: string; value: string }[];
  const meta = new Map(rows.map((row) => [row.name, row.value]));
  if (meta.get('app') !== STORE_APP) throw new BwriteError('E_STORE', `${dbPath} is not a bwrite store`);
  const version = Number(meta.get('schema_version'));
  if (version > SCHEMA_VERSION) {
    throw new BwriteError('E_STORE', `${dbPath} has schema version ${version}, newer than this bwrite understands (${SCHEMA_VERSION}); upgrade bwrite`);
  }
  return version;
}
