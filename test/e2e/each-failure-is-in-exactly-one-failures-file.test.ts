import { execFileSync, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { linesOf, runBwrite, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, importJson, parseSummary } from '../helpers/store.js';
import { openStore } from '../../dist/index.js';
import { expectVerifies, seededRandom, tryTmpfs, unmount, waitUntil } from '../helpers/robustness.js';
import { badLines, entriesOf, expectEachBadLineOnce, inputText, storeFailureFiles } from '../helpers/failures.js';

/** SIGSTOP, at a moment the process holds no write lock on the index (or it would block everyone). */
async function stopOutsideATransaction(child: ChildProcess, indexDb: string): Promise<void> {
  const db = new Database(indexDb, { timeout: 0 });
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      child.kill('SIGSTOP');
      try {
        db.exec('BEGIN IMMEDIATE');
        db.exec('ROLLBACK');
        return;
      } catch {
        child.kill('SIGCONT');
        await sleep(5);
      }
    }
    throw new Error('never found the import outside a transaction');
  } finally {
    db.close();
  }
}

const probe = tryTmpfs('1m');
if (probe) unmount(probe);

describe('each failed item is in exactly one run\'s failures file', () => {
  if (probe) {
    it('a COMMIT that fails on a full disk (3 MiB tmpfs) leaves its entries in no file: the aborted run lists what it counted, and --resume lists the rest once', async () => {
      const dir = await tempDir();
      const mountPoint = tryTmpfs('3m');
      expect(mountPoint).not.toBeNull();
      onTestFinished(() => unmount(mountPoint!));
      const store = join(mountPoint!, 'store');
      const N = 8000;
      const input = await writeText(join(dir, 'in.ndjson'), inputText(N, 10, 600));
      const first = join(dir, 'failures-1.ndjson');
      const second = join(dir, 'failures-2.ndjson');

      const full = await importJson(store, ['--batch-size', '50', '--resume', '--failures', first, input]);
      expect(full.run.code, describeRun(full.args, full.run)).toBe(3);
      expect(full.summary.status).toBe('aborted');
      expect(full.run.stderr).toMatch(/SQLITE_FULL|full/i);
      const listed = await entriesOf([first]);
      expect(listed.length, 'the aborted run lists exactly the failures it reports').toBe(full.summary.failed);

      execFileSync('mount', ['-o', 'remount,size=64m', mountPoint!]);
      const resumed = await importJson(store, ['--batch-size', '50', '--resume', '--failures', second, input]);
      expect(resumed.run.code, describeRun(resumed.args, resumed.run)).toBe(1);
      expect((await entriesOf([second])).length).toBe(resumed.summary.failed);
      expectEachBadLineOnce(await entriesOf([first, second]), input, badLines(N, 10));
      expect(await exportLines(store)).toHaveLength(N - badLines(N, 10).length);
      await expectVerifies(store, 'after the full disk and --resume', true);
    }, 90_000);
  }

  it('a commit retried after SQLITE_BUSY inside its transaction lists its failures once', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const N = 2000;
    const input = await writeText(join(dir, 'in.ndjson'), inputText(N, 7, 20));
    const args = ['--batch-size', '25', '--retries', '60', '--retry-delay', '1', '--retry-max-delay', '5', input];

    const { run, summary } = await importJson(store, args, { env: { BWRITE_FAULTS: 'index:SQLITE_BUSY:0.5', BWRITE_FAULTS_SEED: '3' } });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary.retries, 'commits were retried').toBeGreaterThan(10);
    const entries = await entriesOf([summary.failuresFile!]);
    expect(entries).toHaveLength(summary.failed);
    expectEachBadLineOnce(entries, input, badLines(N, 7));
  });

  it('imports killed with SIGKILL at random moments, then resumed, list every bad line once across all their failures files', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const N = 60_000;
    const input = await writeText(join(dir, 'in.ndjson'), inputText(N, 9, 300));
    const random = seededRandom(14);
    const args = ['import', '--store', store, '--resume', '--batch-size', '40', '--progress', 'none', input];
    const env = { BWRITE_LEASE_MS: '1000' };
    let kills = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const running = startBwrite(args, { env });
      await sleep(150 + random() * 350);
      const killed = running.child.kill('SIGKILL');
      const result = await running.result;
      if (result.signal === 'SIGKILL' && killed) kills++;
      else break;
      // The killed run's lease runs out; the next run completes its failures file.
      await sleep(1100);
    }
    expect(kills, 'some runs were killed mid-way').toBeGreaterThan(2);
    await sleep(1100);
    const last = await runBwrite([...args, '--json'], { env });
    expect([0, 1], describeRun(args, last)).toContain(last.code);
    expect(parseSummary(args, last).status).not.toBe('aborted');

    expectEachBadLineOnce(await entriesOf(await storeFailureFiles(store)), input, badLines(N, 9));
    expect(await exportLines(store)).toHaveLength(N - badLines(N, 9).length);
    await expectVerifies(store, 'after the kills and --resume', true);
  }, 120_000);

  it('a run stopped past its lease, whose failures file a gc completed meanwhile, appends no entry a second time when it goes on', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const N = 60_000;
    const input = await writeText(join(dir, 'in.ndjson'), inputText(N, 9, 300));
    const env = { BWRITE_LEASE_MS: '1000' };
    const args = ['import', '--store', store, '--resume', '--batch-size', '40', '--progress', 'none', '--json', input];
    const running = startBwrite(args, { env, timeoutMs: 90_000 });
    await waitUntil(async () => (await storeFailureFiles(store).catch(() => [])).length > 0, 'the first failures to be written', 30_000);
    await stopOutsideATransaction(running.child, join(store, 'index.db'));
    await sleep(1500);
    const gc = await runBwrite(['gc', '--store', store], { env });
    expect(gc.code, describeRun(['gc'], gc)).toBe(0);
    running.child.kill('SIGCONT');
    const stopped = await running.result;
    expect([0, 1, 3], describeRun(args, stopped)).toContain(stopped.code);

    await sleep(1100);
    const last = await runBwrite(args, { env });
    expect([0, 1], describeRun(args, last)).toContain(last.code);
    await runBwrite(['gc', '--store', store], { env });
    expectEachBadLineOnce(await entriesOf(await storeFailureFiles(store)), input, badLines(N, 9));
    expect(await exportLines(store)).toHaveLength(N - badLines(N, 9).length);
  }, 120_000);

  it('gc completes a crashed run\'s failures file from the index: a cut-off last line is written again whole, and entries already there are not repeated', async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const file = join(dir, 'failures.ndjson');
    const runId = '20261201T000000Z-abcdef';
    const lines = [1, 2, 3, 4].map((seq) => ({ seq, line: JSON.stringify({ entry: `${runId}/${seq}`, source: 'in.ndjson', line: seq * 10, key: null, error: 'x', code: 'E_PARSE', attempts: 0, run: runId, raw: 'x' }) }));
    const store = await openStore(storeDir);
    store.runs.register({ runId, command: 'import', startedAt: 1, sources: ['in.ndjson'], failuresFile: file }, { expiresAt: 2, protectSince: 1 });
    store.index.inTransaction(() => store.failureRows.insert(runId, lines));
    await store.close();
    // The killed run had appended entry 1 whole and entry 2 in part; an entry of another run is there too.
    const other = JSON.stringify({ entry: 'other/1', source: 'b', line: 1, key: null, error: 'y', code: 'E_PARSE', attempts: 0, raw: 'y' });
    await writeText(file, `${lines[0]!.line}\n${other}\n${lines[1]!.line.slice(0, 40)}`);

    const gc = await runBwrite(['gc', '--store', storeDir]);
    expect(gc.code, describeRun(['gc'], gc)).toBe(0);
    const again = await runBwrite(['gc', '--store', storeDir]);
    expect(again.code, describeRun(['gc'], again)).toBe(0);

    expect(linesOf(await readFile(file, 'utf8')).filter((line) => line !== '')).toEqual([lines[0]!.line, other, lines[1]!.line, lines[2]!.line, lines[3]!.line]);
    const stats = JSON.parse((await runBwrite(['stats', '--store', storeDir, '--json'])).stdout) as { runs: { runId: string; status: string }[] };
    expect(stats.runs.find((run) => run.runId === runId)?.status).toBe('crashed');
  });
});
