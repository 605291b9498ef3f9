import fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// The worker thread runs compiled JavaScript: these are the built modules.
import { BackgroundCheckpoints } from '../../dist/store/background-checkpoints.js';
import { IndexDb } from '../../dist/store/index-db.js';
import { tempDir } from '../helpers/cli.js';

describe('BackgroundCheckpoints', () => {
  it('copies committed pages into the database file while the writer goes on, and stops cleanly', async () => {
    const dir = await tempDir();
    const dbPath = join(dir, 'index.db');
    const index = new IndexDb(dbPath);
    const checkpoints = new BackgroundCheckpoints(index, false);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const before = fs.statSync(dbPath).size;
    const value = Buffer.alloc(1000, 0x61);
    const rows = Array.from({ length: 4000 }, (_, i) => ({ key: `k${i}`, sha256: 'x'.repeat(64), size: value.length, type: 'json', inline: value, source: null, line: i }));
    for (let i = 0; i < rows.length; i += 500) index.commitBatch(rows.slice(i, i + 500), 'replace', 'run', null, () => undefined);
    // 4 MB of rows is far below the writer's own checkpoint threshold: only the worker copies them.
    await expect.poll(() => fs.statSync(dbPath).size - before, { timeout: 5000 }).toBeGreaterThan(3_000_000);
    await checkpoints.stop();
    expect(index.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // With the worker's connection closed, nothing stops the writer from emptying the log.
    index.checkpoint();
    expect(fs.statSync(`${dbPath}-wal`).size).toBe(0);
    index.close();
  });

  it('never starts for a run stopped before its delay, not even later', async () => {
    const dir = await tempDir();
    const index = new IndexDb(join(dir, 'index.db'));
    const checkpoints = new BackgroundCheckpoints(index, false);
    await checkpoints.stop();
    await new Promise((resolve) => setTimeout(resolve, 800));
    // Starting would have raised the writer's own threshold.
    expect(index.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    index.close();
  });
});
