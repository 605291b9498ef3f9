import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { IndexDb } from './index-db.js';

/**
 * The worker starts once the log has grown this much, looked at every CHECK_MS: short imports, and
 * imports of values kept in blob files (whose rows are small), never wait for it to start and stop.
 */
const START_AT_LOG_BYTES = 8 * 1024 * 1024;
const CHECK_MS = 250;
const INTERVAL_MS = 5;
/** While the worker copies the log, the writer checkpoints itself only past this many pages (64 MiB at 16 KiB). */
const WRITER_CHECKPOINT_PAGES = 4096;

/**
 * Copies the index's write-ahead log into the database from a second connection on a worker
 * thread, so that a long import's inserts and the copying run on two cores (figures in
 * bench/PERFORMANCE.md, Measured design choices). The import's own connection still
 * checkpoints, less often: only a writer that finds the log fully copied starts it again from the
 * beginning, which keeps the log from growing without bound. Only an optimisation: if the worker
 * fails, nothing changes but speed.
 */
export class BackgroundCheckpoints {
  private worker: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** The writer's own threshold before the worker started, put back when it stops. */
  private writerPages = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly index: IndexDb,
    private readonly durable: boolean,
  ) {
    this.timer = setInterval(() => {
      if (logBytes(index.db.name) < START_AT_LOG_BYTES) return;
      clearInterval(this.timer);
      this.start();
    }, CHECK_MS);
    this.timer.unref();
  }

  private start(): void {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
        workerData: { dbPath: this.index.db.name, synchronous: this.durable ? 'FULL' : 'NORMAL', intervalMs: INTERVAL_MS },
      });
    } catch {
      return;
    }
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('error', () => undefined);
    worker.unref();
    this.worker = worker;
    this.writerPages = this.index.db.pragma('wal_autocheckpoint', { simple: true }) as number;
    this.index.db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
  }

  /** Stops the worker, if it started, and waits for its connection to close. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    // Otherwise the process could end while waiting, with only the unreferenced worker left.
    worker.ref();
    worker.postMessage('stop');
    await this.exited;
    this.index.db.pragma(`wal_autocheckpoint = ${this.writerPages}`);
  }
}

function logBytes(dbPath: string): number {
  try {
    return fs.statSync(`${dbPath}-wal`).size;
  } catch {
    return 0;
  }
}
