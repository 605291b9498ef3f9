import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { BwriteError } from '../../errors.js';

/** One statement to run, with its parameters (never spliced into the text). */
export interface Statement {
  sql: string;
  params?: readonly unknown[];
  /** With a `COPY … FROM STDIN (FORMAT binary)` statement: its data (copyBinary), in SyncBridge.copyArea. */
  copyData?: Uint8Array;
}

/** What a statement returned: its rows, and how many rows it changed. */
export interface StatementResult {
  rows: Record<string, unknown>[];
  rowCount: number;
}

/** A second connection string, and the refusal of the first after which the worker tries it. */
export interface ConnectFallback {
  connectionString: string;
  when: 'server-has-no-tls' | 'server-needs-tls';
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
 *
 * One call may instead be left to finish while the main thread goes on (`runAsync`: a batch's
 * COMMIT, so that the next batch is parsed meanwhile). At most one call is ever outstanding: the
 * next call of either kind first takes that one's reply.
 */
export class SyncBridge {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;
  private closed = false;
  private pending: PendingCall | null = null;
  /** Where COPY data is built: shared with the worker, reused from one COPY to the next. */
  private copyMemory = new SharedArrayBuffer(0);

  /** `fallback`: another way to connect, tried when the server refuses the first as it says (PgLocation.fallback). */
  constructor(config: Record<string, unknown>, fallback: ConnectFallback | null = null) {
    const { port1, port2 } = new MessageChannel();
    this.signal = new Int32Array(new SharedArrayBuffer(4));
    // A worker that cannot load would leave the caller asleep until the timeout: load from the build only.
    const script = new URL('./sync-bridge-worker.js', import.meta.url);
    if (!fs.existsSync(script)) throw new BwriteError('E_INTERNAL', `${fileURLToPath(script)} is missing: run bwrite from its build (npm run build)`);
    this.worker = new Worker(script, {
      workerData: { port: port2, signal: this.signal, config, fallback },
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
    return resultsOf(this.call({ op: 'run', conn, statements, tx }));
  }

  /** As `run`, without waiting: the promise settles once the worker has replied. */
  async runAsync(conn: ConnectionName, statements: Statement[], tx?: 'begin' | 'end'): Promise<StatementResult[]> {
    this.post({ op: 'run', conn, statements, tx });
    return resultsOf(await this.replyLater());
  }

  /**
   * `size` bytes for a COPY's data, which the worker reads where they are: no copy, and no buffer
   * per COPY for the worker's rare collections to free (megabytes each). They stay valid until
   * the call that carries them is answered; the next COPY's data is built only after a later
   * call's answer (a transaction's read), and every call waits for the one before it.
   */
  copyArea(size: number): Uint8Array {
    if (this.copyMemory.byteLength < size) this.copyMemory = new SharedArrayBuffer(Math.max(size, 2 * this.copyMemory.byteLength));
    return new Uint8Array(this.copyMemory, 0, size);
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
    this.post(request);
    if (Atomics.wait(this.signal, 0, 0, CALL_TIMEOUT_MS) === 'timed-out') throw this.timedOut();
    return this.receive();
  }

  /** Sends one request, once the reply of any call still outstanding is taken. */
  private post(request: BridgeRequest): void {
    this.settlePending();
    if (this.closed && request.op !== 'close') throw new BwriteError('E_STORE', 'the PostgreSQL connection is closed');
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage(request);
  }

  /** The reply to the request just posted, taken when the worker signals it, the main thread free meanwhile. */
  private replyLater(): Promise<BridgeReply> {
    return new Promise((resolve, reject) => {
      // The timer also keeps the process alive while nothing else is left to do but this reply.
      const timer = setTimeout(() => {
        this.pending = null;
        reject(this.timedOut());
      }, CALL_TIMEOUT_MS);
      const pending: PendingCall = { resolve, reject, timer };
      this.pending = pending;
      const waiting = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(this.signal, 0, 0);
      void Promise.resolve(waiting.value).then(() => {
        if (this.pending === pending) this.settlePending();
      });
    });
  }

  /** Takes the reply of the call left outstanding, if any, waiting for it here. */
  private settlePending(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    clearTimeout(pending.timer);
    try {
      if (Atomics.wait(this.signal, 0, 0, CALL_TIMEOUT_MS) === 'timed-out') throw this.timedOut();
      pending.resolve(this.receive());
    } catch (error) {
      pending.reject(error);
    }
  }

  private receive(): BridgeReply {
    const message = receiveMessageOnPort(this.port);
    if (!message) throw Object.assign(new Error('the thread holding the PostgreSQL connections stopped'), { code: 'E_STORE' });
    return message.message as BridgeReply;
  }

  /** The worker's answer may still come, and would be taken for the next call's: the connections go. */
  private timedOut(): BwriteError {
    this.abandon();
    return new BwriteError('E_STORE', `PostgreSQL did not answer within ${CALL_TIMEOUT_MS / 60_000} minutes; the connection was given up`);
  }
}

/** A call whose reply the main thread did not wait for. */
interface PendingCall {
  resolve: (reply: BridgeReply) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
}

/** Node 20 has Atomics.waitAsync; the ES2022 library this project compiles against does not declare it. */
interface AtomicsWithWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}

function resultsOf(reply: BridgeReply): StatementResult[] {
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.results;
}
