import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { BridgeReply, BridgeRequest, ConnectFallback, ConnectionName, Statement, StatementResult } from './sync-bridge.js';

/** The worker behind `SyncBridge`: holds the `pg` clients and answers one request at a time. */
const { port, signal, config, fallback } = workerData as { port: MessagePort; signal: Int32Array; config: pg.ClientConfig; fallback: ConnectFallback | null };

// pg announces that its ~/.pgpass lookup will go in pg@9, on stderr; bwrite's stderr is its own
// one-line messages, and reading ~/.pgpass is what users of libpq expect. Only this thread is quieted.
process.noDeprecation = true;

// Counts and sizes fit a double; bwrite's numbers are never past 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, Number);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, Number);

interface Connection {
  client: pg.Client | null;
  /** A transaction is open on this connection (BEGIN sent, no COMMIT or ROLLBACK yet). */
  inTransaction: boolean;
  /** The connection was lost inside a transaction: nothing may run until the caller's ROLLBACK. */
  lost: boolean;
}

const connections = new Map<ConnectionName, Connection>();

function connection(name: ConnectionName): Connection {
  let conn = connections.get(name);
  if (!conn) connections.set(name, (conn = { client: null, inTransaction: false, lost: false }));
  return conn;
}

async function clientOf(conn: Connection): Promise<pg.Client> {
  if (conn.client) return conn.client;
  try {
    return await connect(conn, config);
  } catch (error) {
    if (!fallback || !refusedAs(error, fallback.when)) throw error;
    return await connect(conn, { ...config, connectionString: fallback.connectionString });
  }
}

async function connect(conn: Connection, settings: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(settings);
  // A connection that breaks is replaced at the next call; inside a transaction, only after its ROLLBACK.
  client.on('error', () => drop(conn, client));
  client.on('end', () => drop(conn, client));
  try {
    await client.connect();
  } catch (error) {
    drop(conn, client);
    // A refused or unknown host keeps its own code (ECONNREFUSED is retried; ENOTFOUND is not).
    throw typeof (error as { code?: unknown }).code === 'string' ? error : asConnectionFailure(error);
  }
  conn.client = client;
  return client;
}

/** pg's words for a server without TLS; the server's for a pg_hba.conf line that takes only TLS. */
function refusedAs(error: unknown, when: ConnectFallback['when']): boolean {
  const message = (error as Error).message ?? '';
  return when === 'server-has-no-tls' ? /does not support SSL/i.test(message) : (error as { code?: unknown }).code === '28000' && /no encryption/i.test(message);
}

function drop(conn: Connection, client: pg.Client): void {
  if (conn.client !== client) return;
  conn.client = null;
  if (conn.inTransaction) conn.lost = true;
  client.end().catch(() => {});
}

const LOST = Object.assign(new Error('the connection to PostgreSQL was lost in the middle of a transaction'), { code: '08006' });

async function run(name: ConnectionName, statements: Statement[], tx: 'begin' | 'end' | undefined): Promise<StatementResult[]> {
  const conn = connection(name);
  if (tx === 'end' && conn.lost) {
    // The server rolled the transaction back when the connection went: a ROLLBACK has nothing
    // left to do, and a COMMIT must not be taken for done.
    conn.lost = false;
    conn.inTransaction = false;
    if (statements.some((statement) => statement.sql !== 'ROLLBACK')) throw LOST;
    return statements.map(() => ({ rows: [], rowCount: 0 }));
  }
  if (conn.lost) throw LOST;
  const client = await clientOf(conn);
  if (tx === 'begin') conn.inTransaction = true;
  const results: StatementResult[] = [];
  try {
    for (const statement of statements) results.push(await runStatement(client, statement));
  } catch (error) {
    if (conn.client === client && !connectionGone(error)) {
      // A transaction this call opened or meant to end is not left open behind it: the caller may
      // not be waiting for this reply (SyncBridge.runAsync), and its next call may be another's.
      if (tx) {
        await client.query('ROLLBACK').catch(() => {});
        conn.inTransaction = false;
      }
      throw error;
    }
    // Gone, whether pg has said so yet or not: replaced at the next call, after the caller's ROLLBACK.
    if (conn.client === client) drop(conn, client);
    else if (conn.inTransaction) conn.lost = true;
    throw asConnectionFailure(error);
  } finally {
    // A call that ends the transaction ends it whatever happened, a lost connection too: the
    // caller that left its COMMIT to finish sends no ROLLBACK to clear that, and its next call
    // must not fail for it.
    if (tx === 'end') {
      conn.inTransaction = false;
      conn.lost = false;
    }
  }
  return results;
}

async function runStatement(client: pg.Client, statement: Statement): Promise<StatementResult> {
  if (statement.copyData) {
    const copy = client.query(copyFrom(statement.sql));
    await pipeline(Readable.from([Buffer.from(statement.copyData.buffer, statement.copyData.byteOffset, statement.copyData.byteLength)]), copy);
    return { rows: [], rowCount: copy.rowCount };
  }
  const answer: pg.QueryResult | pg.QueryResult[] = await client.query({ text: statement.sql, values: statement.params?.map(toPg) as unknown[] | undefined });
  // Statements sent as one simple query (no parameters) answer with a result each: the last one's counts.
  const result = Array.isArray(answer) ? answer.at(-1)! : answer;
  return { rows: result.rows as Record<string, unknown>[], rowCount: result.rowCount ?? 0 };
}

/**
 * pg reports a connection that went away mid-query ("Connection terminated unexpectedly") without a
 * code, and a COPY cut short by the socket's or the stream's own codes: all are PostgreSQL's class
 * 08, a connection failure, which the writer retries.
 */
const CONNECTION_GONE = /Connection terminated|connection error|not queryable/i;
const SOCKET_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

function connectionGone(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return CONNECTION_GONE.test((error as Error).message ?? '') || (typeof code === 'string' && SOCKET_GONE.has(code));
}

/** The error with the code of a connection failure, unless the server gave its own (57P01 and the like). */
function asConnectionFailure(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return error;
  return Object.assign(error instanceof Error ? error : new Error(String(error)), { code: '08006' });
}

/** Bytes arrive as Uint8Array (structured clone drops Buffer): `pg` sends only a Buffer as bytea. */
function toPg(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(toPg);
  return value;
}

async function close(): Promise<void> {
  for (const conn of connections.values()) await conn.client?.end().catch(() => {});
  connections.clear();
}

async function answer(request: BridgeRequest): Promise<BridgeReply> {
  try {
    if (request.op === 'close') {
      await close();
      return { ok: true, results: [] };
    }
    return { ok: true, results: await run(request.conn, request.statements, request.tx) };
  } catch (error) {
    const { message = String(error), code } = error as { message?: string; code?: unknown };
    // pg's words when the server asks for a password and none was found: a failed login all the same.
    if (/password must be a string/.test(message)) return { ok: false, error: { message: 'no password was found', code: '28P01' } };
    return { ok: false, error: { message, code: typeof code === 'string' ? code : undefined } };
  }
}

// A worker that dies wakes the caller, who then finds no reply, rather than leaving it asleep.
process.on('exit', () => {
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});

port.on('message', (request: BridgeRequest) => {
  void answer(request).then((reply) => {
    port.postMessage(reply);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
});
