// A BatchWriter used as a library, with `bwrite gc` run beside it in another process, as a cron job
// would. The writer's blobs must survive: it holds a lease like an import does, and a value it wrote
// before is refreshed (or written again) rather than skipped.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { BatchWriter, openStore } from '../../dist/index.js';
import { repoRoot, runBwrite, startCommand, tempDir } from '../helpers/cli.js';
import { describeRun, getValue, sha256, statsJson } from '../helpers/store.js';
import { exists, expectVerifies, waitUntil } from '../helpers/robustness.js';

function blobOf(storeDir: string, value: string): string {
  const digest = sha256(value);
  return join(storeDir, 'blobs', digest.slice(0, 2), digest);
}

async function gcJson(storeDir: string): Promise<{ removedBlobs: number; sparedBlobs: number }> {
  const args = ['gc', '--store', storeDir, '--json'];
  const run = await runBwrite(args);
  expect(run.code, describeRun(args, run)).toBe(0);
  return JSON.parse(run.stdout) as { removedBlobs: number; sparedBlobs: number };
}

describe('a library writer and gc in another process', () => {
  it('a value written again after gc removed its blob is stored whole: write k1=V, replace k1, gc, write k2=V', async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const V = '{"value":"the same bytes twice"}';
    const store = await openStore(storeDir, { leaseMs: 1000 });
    try {
      const writer = new BatchWriter(store, { inlineMax: 0 });
      await writer.writeOne('k1', V);
      await writer.writeOne('k1', '{"value":"another"}');
      // Idle, the writer's run stops protecting anything: V is now garbage, and gc may remove it.
      await waitUntil(async () => (await statsJson(storeDir)).runs.every((run) => run.status !== 'running'), 'the idle writer to stop holding its lease');

      expect((await gcJson(storeDir)).removedBlobs, 'gc removed the blob of V').toBe(1);
      expect(await exists(blobOf(storeDir, V))).toBe(false);

      await writer.writeOne('k2', V);
    } finally {
      await store.close();
    }

    const got = await getValue(storeDir, 'k2');
    expect(got.code, describeRun(['get', 'k2'], got)).toBe(0);
    expect(got.stdout).toBe(`${V}\n`);
    await expectVerifies(storeDir, 'after writing V again', true);
  });

  it('gc spares a blob the writer has written but not yet committed, and the value is then stored whole', async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const V = '{"value":"written, not yet committed"}';
    const writer = startLibraryWriter(storeDir, V);
    await waitUntil(() => writer.output().stdout.includes('ready'), 'the library process to open the store', 20_000);
    // Another connection holds the index's write lock: the writer's batch waits (SQLITE_BUSY,
    // retried) with its blob on disk and its row not committed.
    const lock = new Database(join(storeDir, 'index.db'));
    try {
      lock.exec('BEGIN IMMEDIATE');
      writer.child.stdin!.write('write\n');
      await waitUntil(() => exists(blobOf(storeDir, V)), "the writer's blob to be on disk");
      const written = (await stat(blobOf(storeDir, V))).mtimeMs;
      await waitUntil(() => Date.now() > written + 200, 'the blob to be older than a gc started now');

      expect(await gcJson(storeDir), 'gc while the row is not committed').toMatchObject({ removedBlobs: 0, sparedBlobs: 1 });
      expect((await statsJson(storeDir)).runs[0]).toMatchObject({ command: 'library', status: 'running' });
    } finally {
      lock.close();
    }
    writer.child.stdin!.end();
    const run = await writer.result;
    expect(run.code, describeRun(['library writer'], run)).toBe(0);

    const got = await getValue(storeDir, 'k');
    expect(got.code, describeRun(['get', 'k'], got)).toBe(0);
    expect(got.stdout).toBe(`${V}\n`);
    await expectVerifies(storeDir, 'after the commit', true);
  }, 60_000);

  it("close() finishes the writer's run with what it wrote; store.close() finishes an idle writer's run", async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const store = await openStore(storeDir);
    try {
      const closed = new BatchWriter(store);
      await closed.writeBatch([
        { key: 'a', value: '{"n":1}' },
        { key: 'b', value: '{"n":2}' },
        { key: '', value: '{}' },
      ]);
      await closed.close();
      await expect(closed.writeOne('c', '{}')).rejects.toMatchObject({ code: 'E_USAGE' });

      const [finished] = (await statsJson(storeDir)).runs;
      expect(finished).toMatchObject({ command: 'library', status: 'partial', read: 3, written: 2, failed: 1 });
      expect(finished!.finishedAt).not.toBeNull();

      const left = new BatchWriter(store);
      await left.writeOne('d', '{"n":4}');
    } finally {
      await store.close();
    }
    const runs = (await statsJson(storeDir)).runs;
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({ command: 'library', status: 'ok', read: 1, written: 1 });
  });
});

/**
 * A program using the library, as a user would write it: writes a seed item, says `ready`, writes
 * `value` under key `k` when it reads the line `write`, and closes everything at the end of its input.
 */
function startLibraryWriter(storeDir: string, value: string) {
  const script = `
    import { createInterface } from 'node:readline';
    import { openStore, BatchWriter } from ${JSON.stringify(join(repoRoot, 'dist', 'index.js'))};
    const [storeDir, value] = process.argv.slice(1);
    const store = await openStore(storeDir);
    const writer = new BatchWriter(store, { inlineMax: 0, retry: { retries: 1000, baseDelayMs: 20, maxDelayMs: 20 } });
    await writer.writeOne('seed', '{"seed":true}');
    console.log('ready');
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === 'write') await writer.writeOne('k', value);
    }
    await writer.close();
    await store.close();
  `;
  return startCommand(process.execPath, ['--input-type=module', '-e', script, storeDir, value], { keepStdinOpen: true, timeoutMs: 60_000 });
}
