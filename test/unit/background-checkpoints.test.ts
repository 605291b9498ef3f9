import fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// The worker thread runs compiled JavaScript: these are the built modules.
import { BackgroundCheckpoints } from '../../dist/store/background-checkpoints.js';
import { IndexDb } from '../../dist/store/index-db.js';
import { tempDir } from '../helpers/cli.js';

/** 10,000 rows of 1 KB inline values, 500 to a transaction: about 10 MB of log. */
async function writeTenMegabytes(index: IndexDb): Promise<void> {
  const value = Buffer.alloc(1000, 0x61);
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, sha256: 'x'.repeat(64), size: value.length, type: 'json', inline: value, source: null, line: i }));
  for (let i = 0; i < rows.length; i += 500) await index.commitBatches([{ rows: rows.slice(i, i + 500), mode: 'replace', runId: 'run', watermark: null }], () => undefined);
}

describe('BackgroundCheckpoints', () => {
  it('once the log has grown, copies committed pages into the database file from a worker, and stops cleanly', async () => {
    const dir = await tempDir();
    const dbPath = join(dir, 'index.db');
    const index = new IndexDb(dbPath);
    const checkpoints = new BackgroundCheckpoints(index, false);
    const before = fs.statSync(dbPath).size;
    await writeTenMegabytes(index);
    // About 10 MB of log: past the worker's start, below the 1,000 pages at which the writer would copy it itself.
    expect(fs.statSync(`${dbPath}-wal`).size).toBeGreaterThan(8 * 1024 * 1024);
    await expect.poll(() => fs.statSync(dbPath).size - before, { timeout: 5000 }).toBeGreaterThan(9_000_000);
    await checkpoints.stop();
    expect(index.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // With the worker's connection closed, nothing stops the writer from emptying the log.
    index.checkpoint();
    expect(fs.statSync(`${dbPath}-wal`).size).toBe(0);
    index.close();
  });

  it('never starts once stopped, even if the log grows afterwards', async () => {
    const dir = await tempDir();
    const index = new IndexDb(join(dir, 'index.db'));
    const checkpoints = new BackgroundCheckpoints(index, false);
    await checkpoints.stop();
    await writeTenMegabytes(index);
    await new Promise((resolve) => setTimeout(resolve, 800));
    // Starting would have raised the writer's own threshold.
    expect(index.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    index.close();
  });
});
