import { createHash } from 'node:crypto';
import { BwriteError, PG_DENIED_CODES } from '../../errors.js';
import type { PgLocation } from './location.js';
import { SyncBridge, type ConnectionName, type Statement, type StatementResult } from './sync-bridge.js';

const DENIED = new Set(PG_DENIED_CODES);
const READ_BEGIN: Statement[] = [{ sql: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' }];

/**
 * The index's connections to PostgreSQL, used synchronously (see SyncBridge), and its transactions:
 * a write transaction first takes the store's advisory lock, so writers take turns exactly as
 * SQLite's BEGIN IMMEDIATE makes them; a read transaction sees one snapshot.
 */
export class PgSession {
  readonly location: PgLocation;
  private readonly bridge: SyncBridge;
  /** The advisory lock every write transaction of this store takes: one per schema. */
  private readonly lockId: string;
  private depth = 0;
  /** A `writeAsync` or `readAsync` is open on the main connection. */
  private asyncOpen = false;
  /** An outer transaction's BEGIN (and lock), sent with its first statements: one round trip fewer. */
  private pendingBegin: Statement[] | null = null;
  /** Writes whose results nobody reads, sent with the transaction's next call (at the latest, its COMMIT). */
  private deferred: Statement[] = [];

  constructor(location: PgLocation) {
    this.location = location;
    // The schema name is a validated identifier (parsePgLocation), so it is quoted without escaping.
    this.bridge = new SyncBridge({ connectionString: location.connectionString, options: `-c search_path="${location.schema}"`, application_name: 'bwrite' }, location.fallback);
    this.lockId = createHash('sha256').update(`bwrite:${location.schema}`).digest().readBigInt64BE(0).toString();
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  /** The rows of one statement on the main connection. */
  rows<T>(sql: string, params: readonly unknown[] = []): T[] {
    return this.run([{ sql, params }])[0]!.rows as T[];
  }

  /** How many rows one statement changed. */
  change(sql: string, params: readonly unknown[] = []): number {
    return this.run([{ sql, params }])[0]!.rowCount;
  }

  /** Statements run in order in one call (one round trip to the worker). */
  run(statements: Statement[], conn: ConnectionName = 'main', tx?: 'begin' | 'end'): StatementResult[] {
    const before = conn === 'main' ? this.takeQueued() : { statements: [], begins: false };
    try {
      if (before.statements.length === 0) return this.bridge.run(conn, statements, tx);
      return this.bridge.run(conn, [...before.statements, ...statements], before.begins ? 'begin' : tx).slice(before.statements.length);
    } catch (error) {
      throw this.explained(error);
    }
  }

  /**
   * Inside a write transaction: statements whose results are not needed, sent with the next call
   * on the main connection. One that fails fails that call, and the transaction rolls back.
   */
  defer(statements: Statement[]): void {
    if (this.depth === 0 || this.pendingBegin) this.run(statements);
    else this.deferred.push(...statements);
  }

  /** Memory for a COPY's data (SyncBridge.copyArea). */
  copyArea(size: number): Uint8Array {
    return this.bridge.copyArea(size);
  }

  /** Whether a deferred statement is still waiting to be sent (so that what it writes can still be added to). */
  isDeferred(statement: Statement): boolean {
    return this.deferred.includes(statement);
  }

  private takeQueued(): { statements: Statement[]; begins: boolean } {
    const begin = this.pendingBegin;
    const statements = [...(begin ?? []), ...this.deferred];
    this.pendingBegin = null;
    this.deferred = [];
    return { statements, begins: begin !== null };
  }

  /** Runs `apply` in a write transaction under the store's lock; nested, in a savepoint. */
  write<T>(apply: () => T): T {
    this.refuseDuringAsync();
    return this.transaction(apply, this.writeBegin());
  }

  /**
   * A write transaction whose two calls the main thread does not wait for: `read`'s statements go
   * with BEGIN and the lock; `apply` then runs on what they returned; the writes it deferred go
   * with the COMMIT. Settles once the COMMIT has. While the read is out, another write transaction
   * in this process is refused as busy (as during writeAsync), and a statement from elsewhere
   * would run inside this transaction: only reads do (the lease timer has its own connection).
   */
  async writeCommitting<T>(read: Statement[], apply: (found: StatementResult[]) => T): Promise<T> {
    this.refuseDuringAsync();
    if (this.depth > 0) throw new BwriteError('E_INTERNAL', 'a transaction committed later cannot open inside another transaction');
    const begin = this.writeBegin();
    this.asyncOpen = true;
    this.depth++;
    let result: T;
    try {
      let found: StatementResult[];
      try {
        found = await this.bridge.runAsync('main', [...begin, ...read], 'begin');
      } catch (error) {
        this.undo(true, '');
        throw this.explained(error);
      } finally {
        this.asyncOpen = false;
      }
      try {
        result = apply(found.slice(begin.length));
      } catch (error) {
        this.undo(true, '');
        throw error;
      }
    } finally {
      this.depth--;
    }
    await this.commitLater();
    return result;
  }

  /** Runs `read` on one snapshot of the store; inside another transaction, in that one. */
  read<T>(read: () => T): T {
    if (this.depth > 0) return read();
    return this.transaction(read, READ_BEGIN);
  }

  /** As `write`, the lock held across `apply`'s awaits (gc removing objects no batch may commit a row for meanwhile). */
  writeAsync<T>(apply: () => Promise<T>): Promise<T> {
    return this.asyncTransaction(apply, this.writeBegin());
  }

  /** As `read`, one snapshot held across `read`'s awaits. */
  readAsync<T>(read: () => Promise<T>): Promise<T> {
    return this.asyncTransaction(read, READ_BEGIN);
  }

  close(): void {
    this.bridge.close();
  }

  /** BEGIN and the lock in one simple query: one round trip (the lock's id is a number this session made, not data). */
  private writeBegin(): Statement[] {
    return [{ sql: `BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock('${this.lockId}'::bigint)` }];
  }

  /**
   * A write from elsewhere in this process (a batch's commit) while an async transaction is open
   * would join it: it waits and tries again, as if another host held the lock.
   */
  private refuseDuringAsync(): void {
    if (!this.asyncOpen) return;
    throw Object.assign(new Error('the index is held by a gc or verify on this connection; tried again'), { code: 'EBUSY' });
  }

  private async asyncTransaction<T>(body: () => Promise<T>, begin: Statement[]): Promise<T> {
    this.refuseDuringAsync();
    if (this.depth > 0) throw new BwriteError('E_INTERNAL', 'an async transaction cannot open inside another transaction');
    try {
      this.run(begin, 'main', 'begin');
    } catch (error) {
      this.undo(true, '');
      throw error;
    }
    this.asyncOpen = true;
    this.depth++;
    let result: T;
    try {
      result = await body();
    } catch (error) {
      this.asyncOpen = false;
      this.depth--;
      this.undo(true, '');
      throw error;
    }
    this.asyncOpen = false;
    this.depth--;
    this.commit('');
    return result;
  }

  private transaction<T>(body: () => T, begin: Statement[]): T {
    const outer = this.depth === 0;
    const savepoint = `s${this.depth}`;
    // A failed BEGIN (or lock) is rolled back below with the body, leaving the connection as it was found.
    if (outer) this.pendingBegin = begin;
    else this.run([{ sql: `SAVEPOINT ${savepoint}` }]);
    this.depth++;
    let result: T;
    try {
      result = body();
    } catch (error) {
      this.depth--;
      this.undo(outer, savepoint);
      throw error;
    }
    this.depth--;
    if (!outer) this.run([{ sql: `RELEASE SAVEPOINT ${savepoint}` }]);
    else if (this.pendingBegin) this.pendingBegin = null; // nothing was sent: nothing to commit
    else this.commit(savepoint);
    return result;
  }

  /** COMMIT sent without waiting; if it or a deferred write fails, the worker rolls back (no ROLLBACK from here, which could land in a later transaction). */
  private async commitLater(): Promise<void> {
    const { statements } = this.takeQueued();
    try {
      await this.bridge.runAsync('main', [...statements, { sql: 'COMMIT' }], 'end');
    } catch (error) {
      throw this.explained(error);
    }
  }

  /** COMMIT, with the writes still deferred; if one of them fails, the transaction is rolled back. */
  private commit(savepoint: string): void {
    try {
      this.run([{ sql: 'COMMIT' }], 'main', 'end');
    } catch (error) {
      this.undo(true, savepoint);
      throw error;
    }
  }

  private undo(outer: boolean, savepoint: string): void {
    if (outer) this.deferred = [];
    if (outer && this.pendingBegin) {
      this.pendingBegin = null;
      return;
    }
    try {
      this.run([{ sql: outer ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}` }], 'main', outer ? 'end' : undefined);
    } catch {
      // The connection is gone: the server rolled the transaction back with it.
    }
  }

  /** An authentication or permission error names the store (never its password) in one sentence. */
  private explained(error: unknown): unknown {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !DENIED.has(code)) return error;
    const what = code === '42501' ? 'this user lacks a privilege it needs (see the README for the grants)' : 'authentication failed (check the user, PGPASSWORD or ~/.pgpass)';
    const reason = (error as Error).message.replace(/\.$/, '');
    return new BwriteError(code, `cannot use the store at ${this.location.shown}: ${what}: ${reason}`, { cause: error });
  }
}
