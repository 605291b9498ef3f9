import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, ndjson, runBwrite, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, exportValues, importOk, parseSummary } from '../helpers/store.js';
import { waitUntil } from '../helpers/robustness.js';

/** Poll `export` until it shows at least `count` items. */
async function waitForItems(store: string, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exists = await access(join(store, 'index.db')).then(
      () => true,
      () => false,
    );
    if (exists) {
      const run = await runBwrite(['export', '--store', store]);
      if (run.code === 0 && linesOf(run.stdout).length >= count) return;
    }
    if (Date.now() > deadline) throw new Error(`store never showed ${count} items`);
    await sleep(100);
  }
}

describe('a signal stops reading, commits the work in flight and prints the summary', () => {
  const signals: [NodeJS.Signals, number][] = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ];
  it.each(signals)('%s ends an import from a still-open stdin with exit %i and status interrupted', async (signal, code) => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--json', '--batch-size', '10', '-'];
    const running = startBwrite(args, { keepStdinOpen: true });
    running.child.stdin!.write(ndjson(100, (i) => ({ id: `s${String(i).padStart(3, '0')}` })));

    await waitForItems(store, 100);
    running.child.kill(signal);
    // Reading must stop at the signal even though stdin stays open: allow 5 s, then give up.
    const stuck = sleep(5_000).then(() => 'stuck' as const);
    if ((await Promise.race([running.result, stuck])) === 'stuck') {
      running.child.kill('SIGKILL');
      await running.result.catch(() => undefined);
      expect.fail(`bwrite was still running 5 s after ${signal} (stdin still open); output so far: ${JSON.stringify(running.output())}`);
    }
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(code);
    const summary = parseSummary(args, run);
    expect(summary.status).toBe('interrupted');
    expect(summary.written).toBe(100);
    expect(await exportLines(store)).toHaveLength(100);
  });
});

describe('a process killed with SIGKILL leaves a store that verify accepts', () => {
  it('and --resume then completes exactly the store one uninterrupted run makes', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const text = ndjson(20_000, (i) => ({ id: `r${String(i).padStart(5, '0')}`, n: i, pad: 'z'.repeat(i % 40) }));
    const file = await writeText(join(dir, 'big.ndjson'), text);
    const args = ['import', '--store', store, '--batch-size', '200', '--inline-max', '64', '--resume', file];

    const running = startBwrite(args);
    await waitForItems(store, 1);
    running.child.kill('SIGKILL');
    await running.result;

    const verify = await runBwrite(['verify', '--store', store]);
    expect(verify.code, describeRun(['verify'], verify)).toBe(0);
    const summary = await importOk(store, ['--batch-size', '200', '--inline-max', '64', '--resume', file]);
    expect(summary.failed).toBe(0);
    expect(await exportValues(store)).toEqual(linesOf(text).map((l) => JSON.parse(l) as unknown));
    const deep = await runBwrite(['verify', '--deep', '--store', store]);
    expect(deep.code, describeRun(['verify', '--deep'], deep)).toBe(0);
  });
});

describe('a run shows what it committed while it runs, and after it dies', () => {
  it('commits a batch that waits more than a second for input (a paused pipeline, tail -f), long before the batch is full', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--json', '-'];
    const running = startBwrite(args, { keepStdinOpen: true });
    running.child.stdin!.write(ndjson(7, (i) => ({ id: `t${i}` })));

    // The default batch is 500 records: only the idle flush can store these 7 while stdin stays open.
    await waitForItems(store, 7, 15_000);
    running.child.stdin!.end(ndjson(3, (i) => ({ id: `u${i}` })));
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(parseSummary(args, run)).toMatchObject({ status: 'ok', read: 10, written: 10 });
  });

  it('a run killed with SIGKILL is listed by stats as crashed once its lease expires, with the records its committed batches hold', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--batch-size', '10', '-'];
    const running = startBwrite(args, { keepStdinOpen: true, env: { BWRITE_LEASE_MS: '1000' } });
    // 40 good records and 2 bad ones, in full batches; then the process dies with stdin open.
    running.child.stdin!.write(ndjson(40, (i) => ({ id: `k${String(i).padStart(2, '0')}` })) + 'not json\n[1]\n');
    await waitForItems(store, 40);
    await sleep(300);
    running.child.kill('SIGKILL');
    await running.result;

    const latest = async () => (JSON.parse((await runBwrite(['stats', '--store', store, '--json'])).stdout) as { runs: Record<string, unknown>[] }).runs[0];
    await waitUntil(async () => (await latest())?.status === 'crashed', 'the killed run to show as crashed');
    const crashed = await latest();
    expect(crashed).toMatchObject({ status: 'crashed', written: 40 });
    expect(crashed!.read).toBe((crashed!.written as number) + (crashed!.failed as number));
  });
});
