import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, runBwrite, sleep, startBwrite, tempDir, writeText, type RunningBwrite } from '../helpers/cli.js';
import { describeRun, exportMap, importJson, parseSummary, type Failure, type Summary } from '../helpers/store.js';
import { expectAccountedFor, expectVerifies, pad, waitUntil } from '../helpers/robustness.js';

function lines(from: number, to: number, make: (i: number) => object): string {
  let text = '';
  for (let i = from; i <= to; i++) text += JSON.stringify(make(i)) + '\n';
  return text;
}

// Commits that mostly meet SQLITE_BUSY and back off: a run that takes seconds over a small file.
const SLOW = { BWRITE_FAULTS: 'index:SQLITE_BUSY:0.85', BWRITE_FAULTS_SEED: '21' };
const SLOW_RETRIES = ['--retries', '100', '--retry-delay', '10', '--retry-max-delay', '30'];

function startImport(store: string, args: string[], env: Record<string, string> = {}): RunningBwrite {
  return startBwrite(['import', '--store', store, '--json', '--progress', 'none', ...args], { env, timeoutMs: 120_000 });
}

async function finished(running: RunningBwrite, what: string, codes = [0]): Promise<Summary> {
  const run = await running.result;
  expect(codes, `${what}\n${describeRun([what], run)}`).toContain(run.code);
  const summary = parseSummary([what], run);
  expectAccountedFor(summary, what);
  return summary;
}

/** Lines committed so far by the run of the store that is still running. */
async function committedByRunning(store: string): Promise<number> {
  const run = await runBwrite(['stats', '--store', store, '--json']);
  if (run.code !== 0) return 0;
  const stats = JSON.parse(run.stdout) as { runs: { status: string; written: number }[] };
  return stats.runs.find((entry) => entry.status === 'running')?.written ?? 0;
}

describe('overlapping --resume runs of one input share it', () => {
  it('a slow run that started first never moves the watermark back or replaces what another file stored meanwhile', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const N = 3000;
    const x = await writeText(join(dir, 'x.ndjson'), lines(1, N, (i) => ({ id: `k${pad(i, 4)}`, from: 'x' })));
    const y = await writeText(join(dir, 'y.ndjson'), lines(1, N, (i) => ({ id: `k${pad(i, 4)}`, from: 'y, newer' })));

    const slow = startImport(store, ['--resume', '--batch-size', '100', ...SLOW_RETRIES, x], SLOW);
    await waitUntil(async () => (await committedByRunning(store)) >= 200, 'the slow run to commit its first batches', 60_000, 100);
    const fast = await finished(startImport(store, ['--resume', x]), 'the fast --resume run');
    expect(fast.written, 'the fast run went on from the slow run\'s watermark').toBeLessThan(N);
    await finished(startImport(store, [y]), 'the newer file');
    const slowSummary = await finished(slow, 'the slow run');
    expect(slowSummary.written + fast.written, 'each line of x was written by one run').toBe(N);

    const again = await importJson(store, ['--resume', x]);
    expect(again.run.code, describeRun(again.args, again.run)).toBe(0);
    expect(again.summary, 'the watermark stayed at the end of x').toMatchObject({ read: N, skipped: N, written: 0 });
    const stored = await exportMap(store);
    const older = [...stored].filter(([, value]) => (value as { from: string }).from !== 'y, newer').map(([key]) => key);
    expect(older, 'keys whose newer value was replaced by an older line of x').toEqual([]);
    await expectVerifies(store, 'after the overlapping runs', true);
  }, 120_000);

  it('three overlapping runs over a growing log write each line once, fail each bad line once, and end with the last occurrence of every key', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const KEYS = 400;
    const make = (i: number) => (i % 13 === 0 ? { nokey: i } : { id: `k${pad(i % KEYS, 3)}`, line: i });
    const log = await writeText(join(dir, 'log.ndjson'), lines(1, 2000, make));
    const args = ['--resume', '--batch-size', '50', ...SLOW_RETRIES];
    const env = { ...SLOW, BWRITE_FAULTS: 'index:SQLITE_BUSY:0.6' };

    const runs = [startImport(store, args.concat(log), { ...env, BWRITE_FAULTS_SEED: '1' })];
    await sleep(300);
    runs.push(startImport(store, args.concat(log), { ...env, BWRITE_FAULTS_SEED: '2' }));
    await appendFile(log, lines(2001, 3500, make));
    await sleep(300);
    runs.push(startImport(store, args.concat(log), { ...env, BWRITE_FAULTS_SEED: '3' }));
    await appendFile(log, lines(3501, 5000, make));
    const summaries = await Promise.all(runs.map((run, i) => finished(run, `overlapping run ${i + 1}`, [0, 1])));
    const last = await importJson(store, ['--resume', log]);
    expect([0, 1], describeRun(last.args, last.run)).toContain(last.run.code);
    summaries.push(last.summary);

    const good = 5000 - Math.floor(5000 / 13);
    expect(summaries.reduce((sum, s) => sum + s.written, 0), 'lines written, over all runs').toBe(good);
    const failedLines = (await allFailures(store)).map((failure) => failure.line).sort((a, b) => a - b);
    expect(failedLines, 'each bad line in exactly one failures file').toEqual(Array.from({ length: Math.floor(5000 / 13) }, (_, i) => (i + 1) * 13));
    const stored = await exportMap(store);
    for (let k = 0; k < KEYS; k++) {
      let lastLine = 0;
      for (let i = k; i <= 5000; i += KEYS) if (i > 0 && i % 13 !== 0) lastLine = i;
      expect(stored.get(`k${pad(k, 3)}`), `key k${pad(k, 3)}`).toEqual({ id: `k${pad(k, 3)}`, line: lastLine });
    }
    await expectVerifies(store, 'after three overlapping runs', true);
  }, 120_000);

  // Elements of a one-line array all share line 1: the runs tell them apart by byte offset.
  it.each([
    ['a one-line array', (elements: object[]) => JSON.stringify(elements)],
    ['a pretty-printed array', (elements: object[]) => JSON.stringify(elements, null, 2)],
  ])('two overlapping runs over %s of JSON store each element once and fail each bad element once', async (_, layout) => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const N = 3000;
    const bad = Array.from({ length: Math.floor(N / 13) }, (_, i) => (i + 1) * 13);
    const elements = Array.from({ length: N }, (_, i) => ((i + 1) % 13 === 0 ? { nokey: i + 1 } : { id: `k${pad(i + 1, 4)}` }));
    const input = await writeText(join(dir, 'x.json'), layout(elements));

    const slow = startImport(store, ['--resume', '--batch-size', '100', ...SLOW_RETRIES, input], SLOW);
    await waitUntil(async () => (await committedByRunning(store)) >= 200, 'the slow run to commit its first batches', 60_000, 100);
    const fast = await finished(startImport(store, ['--resume', input]), 'the fast --resume run', [1]);
    expect(fast.written, "the fast run went on from the slow run's watermark").toBeLessThan(N - bad.length);
    const slowSummary = await finished(slow, 'the slow run', [1]);

    const runs = [slowSummary, fast];
    expect(runs.reduce((sum, s) => sum + s.read, 0), 'each run read every element').toBe(2 * N);
    expect(runs.reduce((sum, s) => sum + s.written, 0), 'each good element written by one run').toBe(N - bad.length);
    expect(runs.reduce((sum, s) => sum + s.failed, 0), 'each bad element failed by one run').toBe(bad.length);
    const failed = (await allFailures(store)).map((failure) => (failure.record as { nokey: number }).nokey).sort((a, b) => a - b);
    expect(failed, 'each bad element in exactly one failures file').toEqual(bad);
    expect((await exportMap(store)).size, 'every good element stored').toBe(N - bad.length);
    expect(slowSummary.skipped, 'the slow run skipped what the fast run committed meanwhile').toBeGreaterThan(0);
    const again = await importJson(store, ['--resume', input]);
    expect(again.summary, 'the watermark stayed at the end of the input').toMatchObject({ read: N, skipped: N, written: 0, failed: 0 });
  }, 120_000);
});

async function allFailures(store: string): Promise<Failure[]> {
  const dir = join(store, 'failures');
  const entries: Failure[] = [];
  for (const name of await readdir(dir)) {
    for (const line of linesOf(await readFile(join(dir, name), 'utf8'))) if (line.trim() !== '') entries.push(JSON.parse(line) as Failure);
  }
  return entries;
}
