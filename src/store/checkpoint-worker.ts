import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** The worker behind `BackgroundCheckpoints`: a PASSIVE checkpoint of the index every few ms until told to stop. */
const { dbPath, synchronous, intervalMs } = workerData as { dbPath: string; synchronous: string; intervalMs: number };
const db = new Database(dbPath, { fileMustExist: true, timeout: 0 });
db.pragma(`synchronous = ${synchronous}`);
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or gone: the writer's own checkpoints still run.
  }
}, intervalMs);
parentPort!.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
