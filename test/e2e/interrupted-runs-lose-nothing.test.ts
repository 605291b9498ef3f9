import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, ndjson, runBwrite, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, exportValues, importOk, parseSummary } from '../helpers/store.js';

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
