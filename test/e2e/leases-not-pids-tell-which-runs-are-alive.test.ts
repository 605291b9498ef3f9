// Whether a run is alive is decided by its lease in the index, never by probing its pid: a pid may
// be reused, and a gc or stats in another PID namespace (a container sharing the volume) cannot see
// the process at all. `unshare --pid --fork --mount-proc` gives such a namespace here (we are root).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { binPath, ndjson, runBwrite, startBwrite, startCommand, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { blobFiles, describeRun, expectErrorLine, exportLines, importOk, parseSummary, sha256 } from '../helpers/store.js';
import { expectVerifies, pad, waitUntil } from '../helpers/robustness.js';

type Run = Record<string, unknown> & { runId: string; status: string };

/** `bwrite ARGS` inside a new PID namespace, where no process of this one is visible. */
function inOtherPidNamespace(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return startCommand('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, binPath, ...args], { env }).result;
}

/** The runs `stats --json` lists, or none while the store does not exist yet. */
async function runsOf(store: string, where: 'here' | 'other namespace' = 'here'): Promise<Run[]> {
  const args = ['stats', '--store', store, '--json'];
  const run = where === 'here' ? await runBwrite(args) : await inOtherPidNamespace(args);
  if (run.code !== 0) return [];
  return (JSON.parse(run.stdout) as { runs: Run[] }).runs;
}

async function gcJson(store: string, where: 'here' | 'other namespace' = 'here'): Promise<{ removedBlobs: number; sparedBlobs: number }> {
  const args = ['gc', '--store', store, '--json'];
  const run = where === 'here' ? await runBwrite(args) : await inOtherPidNamespace(args);
  expect(run.code, describeRun(args, run)).toBe(0);
  return JSON.parse(run.stdout) as { removedBlobs: number; sparedBlobs: number };
}

/** Waits until every blob file is older than a gc started now would spare for its own sake. */
async function untilBlobsAreOld(store: string): Promise<void> {
  const newest = Math.max(0, ...(await blobFiles(store)).map((blob) => blob.stat.mtimeMs));
  await waitUntil(() => Date.now() > newest + 200, 'the blobs to be older than a gc started now');
}

describe('leases, not pid probes, tell which runs are alive', () => {
  it('a live import shows as running from another PID namespace, and as crashed once kill -9 lets its lease expire', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const running = startBwrite(['import', '--store', store, '-'], { keepStdinOpen: true, env: { BWRITE_LEASE_MS: '4000' } });
    running.child.stdin!.write(ndjson(5, (i) => ({ id: `k${i}` })));
    // The idle flush commits the 5 records while standard input stays open.
    await waitUntil(async () => (await runsOf(store))[0]?.written === 5, 'the import to commit its records');

    expect((await runsOf(store))[0]).toMatchObject({ status: 'running' });
    expect((await runsOf(store, 'other namespace'))[0], 'stats in another PID namespace').toMatchObject({ status: 'running' });

    running.child.kill('SIGKILL');
    await running.result;
    await waitUntil(async () => (await runsOf(store))[0]?.status === 'crashed', 'the killed run to show as crashed');
    expect((await runsOf(store))[0]).toMatchObject({ status: 'crashed', read: 5, written: 5 });
    const text = await runBwrite(['stats', '--store', store]);
    expect(text.stdout).toMatch(/ crashed +5 +5 /);
    const prometheus = await runBwrite(['stats', '--store', store, '--prometheus']);
    expect(prometheus.stdout).toContain('bwrite_store_runs_by_status{status="crashed"} 1\n');
    expect(prometheus.stdout).toContain('bwrite_store_runs_by_status{status="running"} 0\n');
  }, 60_000);

  it('a crashed run whose pid now belongs to a live process shows as crashed, and gc removes the old blobs nothing refers to', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const crashing = startBwrite(['import', '--store', store, '-'], { keepStdinOpen: true, env: { BWRITE_LEASE_MS: '1000' } });
    await waitUntil(async () => (await runsOf(store))[0]?.status === 'running', 'the import to register its run');
    crashing.child.kill('SIGKILL');
    await crashing.result;
    const [crashed] = await runsOf(store);

    // The pid is reused: the test runner, alive, now has it.
    const db = new Database(join(store, 'index.db'));
    db.prepare('UPDATE runs SET pid = ? WHERE run_id = ?').run(process.pid, crashed!.runId);
    const leaseEnd = (db.prepare('SELECT lease_expires_at FROM runs WHERE run_id = ?').pluck().get(crashed!.runId) as number | null) ?? 0;
    db.close();

    const old = '{"id":"k","v":1}';
    await importOk(store, ['--inline-max', '0', await writeText(join(dir, 'v1.ndjson'), `${old}\n`)]);
    await importOk(store, ['--inline-max', '0', await writeText(join(dir, 'v2.ndjson'), '{"id":"k","v":2}\n')]);
    await waitUntil(() => Date.now() > leaseEnd + 100, "the crashed run's lease to expire");
    await untilBlobsAreOld(store);

    expect(await gcJson(store), 'gc beside a crashed run whose pid is alive').toMatchObject({ removedBlobs: 1, sparedBlobs: 0 });
    expect((await blobFiles(store)).map((blob) => blob.rel)).not.toContain(`${sha256(old).slice(0, 2)}/${sha256(old)}`);
    expect((await runsOf(store)).find((run) => run.runId === crashed!.runId)).toMatchObject({ status: 'crashed' });
    await expectVerifies(store, 'after gc', true);
  }, 60_000);

  it('gc in another PID namespace spares the blobs a live import has written but not yet committed', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), ndjson(20, (i) => ({ id: `k${pad(i)}`, n: i })));
    // Every commit fails with SQLITE_BUSY and is retried: the batch's blobs are on disk, its rows never commit.
    const args = ['import', '--store', store, '--json', '--inline-max', '0', '--batch-size', '20', '--retries', '100', '--retry-delay', '1000', '--retry-max-delay', '1000', file];
    const importing = startBwrite(args, { env: { BWRITE_FAULTS: 'index:SQLITE_BUSY:1' } });
    await waitUntil(async () => (await blobFiles(store)).length === 20, "the import's 20 blobs to be on disk");
    await untilBlobsAreOld(store);

    expect(await gcJson(store, 'other namespace'), 'gc in another PID namespace').toMatchObject({ removedBlobs: 0, sparedBlobs: 20 });
    expect(await blobFiles(store)).toHaveLength(20);

    importing.child.kill('SIGTERM');
    const run = await importing.result;
    expect(run.code, describeRun(args, run)).toBe(143);
    expect(parseSummary(args, run)).toMatchObject({ status: 'interrupted', written: 0 });
  }, 60_000);

  it('an import whose lease lapsed while it waited for the index writes again the blobs a gc removed meanwhile, then commits', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--json', '--inline-max', '0', '--source-name', 'feed', '--retries', '100', '--retry-delay', '50', '--retry-max-delay', '50', '-'];
    const importing = startBwrite(args, { keepStdinOpen: true, env: { BWRITE_LEASE_MS: '1500' } });
    await waitUntil(async () => (await runsOf(store))[0]?.status === 'running', 'the import to register its run');

    // Another connection holds the index's write lock: the import can neither commit its batch nor
    // renew its lease, which lapses, while its blobs wait on disk.
    const lock = new Database(join(store, 'index.db'));
    try {
      lock.exec('BEGIN IMMEDIATE');
      importing.child.stdin!.write(ndjson(10, (i) => ({ id: `k${i}`, n: i })));
      await waitUntil(async () => (await blobFiles(store)).length === 10, "the import's 10 blobs to be on disk");
      const leaseEnd = lock.prepare('SELECT lease_expires_at FROM runs').pluck().get() as number | null;
      await waitUntil(() => Date.now() > (leaseEnd ?? 0) + 100, "the import's lease to lapse");
      await untilBlobsAreOld(store);

      // A gc that cannot see the import's process at all: its blobs are garbage to it.
      expect(await gcJson(store, 'other namespace')).toMatchObject({ removedBlobs: 10 });
      expect(await blobFiles(store)).toHaveLength(0);
    } finally {
      lock.exec('COMMIT');
      lock.close();
    }
    importing.child.stdin!.end();
    const run = await importing.result;

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(parseSummary(args, run)).toMatchObject({ status: 'ok', written: 10 });
    expect(await blobFiles(store)).toHaveLength(10);
    await expectVerifies(store, 'after the import wrote its blobs again', true);
    expect(await exportLines(store)).toHaveLength(10);
  }, 90_000);

  it('BWRITE_LEASE_MS that is not a whole number of milliseconds, at least 1000, is a usage error', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":"a"}\n');
    for (const value of ['soon', '999', '1.5']) {
      const args = ['import', '--store', join(dir, 'store'), file];
      const run = await runBwrite(args, { env: { BWRITE_LEASE_MS: value } });
      expect(run.code, describeRun(args, run)).toBe(2);
      expectErrorLine(run);
      expect(run.stderr).toContain('BWRITE_LEASE_MS');
    }
    expect((await stat(join(dir, 'store')).catch(() => null))?.isDirectory() ?? false, 'no store was made').toBe(false);
  });
});
