import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { BwriteError } from '../../errors.js';

/** One statement to run, with its parameters (never spliced into the text). */
export interface Statement {
  sql: string;
  params?: readonly unknown[];
  /** With a `COPY … FROM STDIN (FORMAT binary)` statement: its data (copyBinary), handed to the worker, not copied. */
  copyData?: Uint8Array;
}

/** What a statement returned: its rows, and how many rows it changed. */
export interface StatementResult {
  rows: Record<string, unknown>[];
  rowCount: number;
}

/** The connections the worker holds: `main` for transactions and reads, `lease` for renewals from timers. */
export type ConnectionName = 'main' | 'lease';

export type BridgeRequest =
  | { op: 'run'; conn: ConnectionName; statements: Statement[]; tx?: 'begin' | 'end' }
  | { op: 'close' };

export type BridgeReply = { ok: true; results: StatementResult[] } | { ok: false; error: { message: string; code?: string; name?: string } };

const WORKER_YOUNG_GENERATION_MB = 4;

/** How long a call waits for the worker before it gives up on the server (a query the server never answers). */
const CALL_TIMEOUT_MS = 10 * 60_000;

/**
 * Synchronous calls into a worker thread that holds the `pg` connections: the index's interface is
 * synchronous, as better-sqlite3 is, and a transaction spans several calls on one connection. The
 * main thread posts a request and sleeps on a shared word (Atomics.wait) until the worker has
 * posted its reply; the reply is then taken off the port at once (receiveMessageOnPort).
 */
export class SyncBridge {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;
  private closed = false;

  constructor(config: Record<string, unknown>) {
    const { port1, port2 } = new MessageChannel();
    this.signal = new Int32Array(new SharedArrayBuffer(4));
    // A worker that cannot load would leave the caller asleep until the timeout: load from the build only.
    const script = new URL('./sync-bridge-worker.js', import.meta.url);
    if (!fs.existsSync(script)) throw new BwriteError('E_INTERNAL', `${fileURLToPath(script)} is missing: run bwrite from its build (npm run build)`);
    this.worker = new Worker(script, {
      workerData: { port: port2, signal: this.signal, config },
      transferList: [port2],
      // What the worker allocates lives for one call: a small young generation is collected often
      // and keeps the process's peak memory down. The old generation is not capped (pages of values).
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    this.worker.unref();
    this.port = port1;
  }

  /** Runs the statements in order on one connection; the first that fails throws, with the server's code. */
  run(conn: ConnectionName, statements: Statement[], tx?: 'begin' | 'end'): StatementResult[] {
    const reply = this.call({ op: 'run', conn, statements, tx });
    if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
    return reply.results;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.call({ op: 'close' });
    } catch {
      // The connections go with the worker anyway.
    }
    this.abandon();
  }

  private abandon(): void {
    this.closed = true;
    void this.worker.terminate();
    this.port.close();
  }

  private call(request: BridgeRequest): BridgeReply {
    if (this.closed && request.op !== 'close') throw new BwriteError('E_STORE', 'the PostgreSQL connection is closed');
    Atomics.store(this.signal, 0, 0);
    // COPY data moves to the worker: the caller cannot use it afterwards, and builds it anew for a retry.
    const transfer = request.op === 'run' ? request.statements.flatMap((statement) => (statement.copyData ? [statement.copyData.buffer as ArrayBuffer] : [])) : [];
    this.port.postMessage(request, transfer);
    if (Atomics.wait(this.signal, 0, 0, CALL_TIMEOUT_MS) === 'timed-out') {
      // Its answer may still come, and would be taken for the next call's: the connections go.
      this.abandon();
      throw new BwriteError('E_STORE', `PostgreSQL did not answer within ${CALL_TIMEOUT_MS / 60_000} minutes; the connection was given up`);
    }
    const message = receiveMessageOnPort(this.port);
    if (!message) throw Object.assign(new Error('the thread holding the PostgreSQL connections stopped'), { code: 'E_STORE' });
    return message.message as BridgeReply;
  }
}
