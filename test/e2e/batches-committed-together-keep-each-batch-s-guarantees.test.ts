import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBwrite, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, importJson, parseSummary } from '../helpers/store.js';
import { expectAccountedFor, expectSameExport, expectVerifies, exportText, progressOf, seededRandom, waitUntil } from '../helpers/robustness.js';
import { badLines, entriesOf, expectEachBadLineOnce, inputText, storeFailureFiles } from '../helpers/failures.js';

// Small batches of small values are ready faster than they commit, so an import commits many of
// them in one transaction: each batch must still keep its own watermark, failure entries and
// history counts, and a group that cannot commit must fail or retry batch by batch.

const fastRetries = ['--retries', '40', '--retry-delay', '1', '--retry-max-delay', '4'];

describe('batches committed together keep each batch\'s guarantees', () => {
  it('imports of many small batches killed with SIGKILL at random moments, then resumed, store exactly what one clean run stores and list every bad line once', async () => {
    const dir = await tempDir();
    const N = 40_000;
    const input = await writeText(join(dir, 'in.ndjson'), inputText(N, 11, 40));
    const options = ['--batch-size', '20', '--progress', 'none', input];
    const clean = await importJson(join(dir, 'reference'), options);
    expect(clean.run.code, describeRun(clean.args, clean.run)).toBe(1);
    expectEachBadLineOnce(await entriesOf([clean.summary.failuresFile!]), input, badLines(N, 11));

    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--resume', ...options];
    const env = { BWRITE_LEASE_MS: '1000' };
    const random = seededRandom(21);
    let kills = 0;
    for (let attempt = 0; attempt < 10; attempt++) {
      const before = (await progressOf(store, input)) ?? { runs: 0, records: 0 };
      const running = startBwrite(args, { env });
      let ended = false;
      void running.result.then(() => (ended = true));
      const now = async () => (await progressOf(store, input)) ?? before;
      // Killed once the run is registered, every other time once it has committed too: the kills
      // land before and after commits however loaded the machine is.
      await waitUntil(async () => ended || (await now()).runs > before.runs, 'the run to be registered');
      if (attempt % 2 === 1) await waitUntil(async () => ended || (await now()).records > before.records, 'the run to commit');
      await sleep(random() * 400);
      const killed = running.child.kill('SIGKILL');
      const result = await running.result;
      if (result.signal !== 'SIGKILL' || !killed) break;
      kills++;
      await expectVerifies(store, `after kill ${kills}`);
      // The killed run's lease runs out, so the next run completes its failures file from the index.
      await sleep(1100);
    }
    expect(kills, 'some runs were killed mid-way').toBeGreaterThan(2);
    const last = await runBwrite([...args, '--json'], { env });
    // 1 while it still meets bad lines; 0 if a run before it reached the end.
    expect([0, 1], describeRun(args, last)).toContain(last.code);
    const summary = parseSummary(args, last);
    expectAccountedFor(summary, 'the last --resume');
    expect(summary.read).toBe(N);

    expectSameExport(await exportText(store), await exportText(join(dir, 'reference')), 'killed and resumed');
    expectEachBadLineOnce(await entriesOf(await storeFailureFiles(store)), input, badLines(N, 11));
    await expectVerifies(store, 'after the kills and --resume', true);
  }, 120_000);

  it('SQLITE_BUSY injected into commits of many small batches is retried: every good record is stored once, every bad line is listed once, and the history counts each record once', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const N = 20_000;
    const input = await writeText(join(dir, 'in.ndjson'), inputText(N, 7, 30));
    const args = ['--batch-size', '25', ...fastRetries, input];

    const { run, summary } = await importJson(store, args, { env: { BWRITE_FAULTS: 'index:SQLITE_BUSY:0.01', BWRITE_FAULTS_SEED: '4' } });

    expect(run.code, describeRun(args, run)).toBe(1);
    const bad = badLines(N, 7);
    expect(summary).toMatchObject({ status: 'partial', read: N, written: N - bad.length, failed: bad.length, skipped: 0 });
    expect(summary.retries, 'commits were retried').toBeGreaterThan(0);
    const entries = await entriesOf([summary.failuresFile!]);
    expect(entries).toHaveLength(bad.length);
    expectEachBadLineOnce(entries, input, bad);
    expect(await exportLines(store)).toHaveLength(N - bad.length);

    const stats = await runBwrite(['stats', '--store', store, '--json']);
    const [history] = (JSON.parse(stats.stdout) as { runs: { read: number; written: number; failed: number }[] }).runs;
    expect(history).toMatchObject({ read: N, written: N - bad.length, failed: bad.length });
    await expectVerifies(store, 'after the injected faults', true);
  }, 60_000);

  it('a commit that fails for good fails the records of each batch once, with the batch\'s own bad lines, and --resume then finds nothing left to read', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const N = 6000;
    const input = await writeText(join(dir, 'in.ndjson'), inputText(N, 9, 30));
    const args = ['--batch-size', '30', input];

    const { run, summary } = await importJson(store, args, { env: { BWRITE_FAULTS: 'index:EPERM:1', BWRITE_FAULTS_SEED: '1' } });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ read: N, written: 0, failed: N, skipped: 0 });
    const entries = await entriesOf([summary.failuresFile!]);
    expectEachBadLineOnce(entries, input, Array.from({ length: N }, (_, i) => i + 1));
    const bad = new Set(badLines(N, 9));
    for (const entry of entries) expect(entry.code, `line ${entry.line}`).toBe(bad.has(entry.line!) ? 'E_KEY_MISSING' : 'EPERM');
    expect(await exportLines(store)).toEqual([]);

    const again = await importJson(store, ['--resume', ...args]);
    expect(again.run.code, describeRun(again.args, again.run)).toBe(0);
    expect(again.summary).toMatchObject({ read: N, written: 0, failed: 0, skipped: N });
  }, 60_000);
});
