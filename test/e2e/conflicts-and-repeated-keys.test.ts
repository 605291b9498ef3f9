import { access, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import {
  describeRun,
  exportLines,
  exportMap,
  exportValues,
  getValue,
  importJson,
  importOk,
  parseSummary,
  readFailures,
} from '../helpers/store.js';

/** 600 records over 21 keys; key `k` is every third record, so it repeats 200 times. */
function repeatedKeyInput(): { text: string; last: Map<string, number> } {
  const last = new Map<string, number>();
  const text = ndjson(600, (i) => {
    const id = i % 3 === 0 ? 'k' : `o${String(i % 20).padStart(2, '0')}`;
    last.set(id, i);
    return { id, n: i, pad: 'v'.repeat(i % 17) };
  });
  return { text, last };
}

describe('a repeated key keeps its last occurrence', () => {
  const runs: [string, string[]][] = [
    ['inline values, run 1', []],
    ['inline values, run 2', []],
    ['inline values, run 3', []],
    ['blob values, run 4', ['--inline-max', '0']],
    ['blob values, run 5', ['--inline-max', '0']],
  ];
  it.each(runs)('under --concurrency 32 --batch-size 7 (%s)', async (_label, extra) => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { text, last } = repeatedKeyInput();
    const file = await writeText(join(dir, 'repeats.ndjson'), text);

    const summary = await importOk(store, ['--concurrency', '32', '--batch-size', '7', ...extra, file]);

    expect(summary.read).toBe(600);
    expect(summary.failed).toBe(0);
    const got = await getValue(store, 'k');
    expect(got.code).toBe(0);
    expect((JSON.parse(got.stdout) as { n: number }).n).toBe(last.get('k'));
    const map = await exportMap(store);
    expect(map.size).toBe(last.size);
    for (const [key, n] of last) expect((map.get(key) as { n: number }).n, key).toBe(n);
  });

  it('keeps the last occurrence again when the same file is imported twice into one store', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { text, last } = repeatedKeyInput();
    const file = await writeText(join(dir, 'repeats.ndjson'), text);

    await importOk(store, ['-c', '32', '-b', '7', file]);
    await importOk(store, ['-c', '32', '-b', '7', file]);

    const got = await getValue(store, 'k');
    expect((JSON.parse(got.stdout) as { n: number }).n).toBe(last.get('k'));
  });
});

describe('--on-conflict decides what happens to a key that is already stored', () => {
  async function storeWithV1(dir: string): Promise<{ store: string; second: string }> {
    const store = join(dir, 'store');
    const first = await writeText(join(dir, 'v1.ndjson'), ndjson(5, (i) => ({ id: `k${i}`, v: 1 })));
    await importOk(store, [first]);
    const second = await writeText(join(dir, 'v2.ndjson'), ndjson(6, (i) => ({ id: `k${i}`, v: 2 })));
    return { store, second };
  }

  it('replace (the default) overwrites the stored value', async () => {
    const dir = await tempDir();
    const { store, second } = await storeWithV1(dir);

    const summary = await importOk(store, [second]);

    expect(summary).toMatchObject({ status: 'ok', written: 6, skipped: 0, failed: 0 });
    expect(await exportValues(store)).toEqual(Array.from({ length: 6 }, (_, i) => ({ id: `k${i}`, v: 2 })));
  });

  it('replace given explicitly overwrites the stored value', async () => {
    const dir = await tempDir();
    const { store, second } = await storeWithV1(dir);

    await importOk(store, ['--on-conflict', 'replace', second]);

    expect((await exportValues(store)).every((v) => (v as { v: number }).v === 2)).toBe(true);
  });

  it('skip keeps what is stored, counts it as skipped and exits 0', async () => {
    const dir = await tempDir();
    const { store, second } = await storeWithV1(dir);

    const { run, summary, args } = await importJson(store, ['--on-conflict', 'skip', second]);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', read: 6, written: 1, skipped: 5, failed: 0 });
    expect(await exportValues(store)).toEqual([
      ...Array.from({ length: 5 }, (_, i) => ({ id: `k${i}`, v: 1 })),
      { id: 'k5', v: 2 },
    ]);
  });

  it('fail fails each conflicting item with E_CONFLICT and exits 1', async () => {
    const dir = await tempDir();
    const { store, second } = await storeWithV1(dir);

    const { run, summary, args } = await importJson(store, ['--on-conflict', 'fail', second], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ status: 'partial', read: 6, written: 1, failed: 5 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => f.key).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    for (const failure of failures) {
      expect(failure.code).toBe('E_CONFLICT');
      expect(failure.record).toEqual({ id: failure.key, v: 2 });
      expect(failure.line).toBe(Number(failure.key!.slice(1)) + 1);
    }
    expect(await exportValues(store)).toEqual([
      ...Array.from({ length: 5 }, (_, i) => ({ id: `k${i}`, v: 1 })),
      { id: 'k5', v: 2 },
    ]);
  });
});

describe('--max-errors stops a run that goes badly', () => {
  it('stops reading after 2 failed items: status aborted, exit 1', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // Every other line is unparseable.
    let text = '';
    for (let i = 0; i < 3000; i++) text += i % 2 === 0 ? `{"id":"g${i}"}\n` : `{broken ${i}\n`;
    const file = await writeText(join(dir, 'bad.ndjson'), text);

    const { run, summary, args } = await importJson(store, ['--max-errors', '2', file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary.status).toBe('aborted');
    expect(summary.failed).toBeGreaterThanOrEqual(2);
    expect(summary.read).toBeLessThan(3000);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.length).toBe(summary.failed);
  });

  it('does not stop a run whose failures stay under the limit', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'few.ndjson'), '{"id":"a"}\nbad\n{"id":"b"}\n');

    const { run, summary } = await importJson(store, ['--max-errors', '5', file]);

    expect(run.code).toBe(1);
    expect(summary).toMatchObject({ status: 'partial', read: 3, written: 2, failed: 1 });
  });
});

describe('--dry-run writes nothing', () => {
  it('parses and derives keys but stores no item', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), ndjson(50, (i) => ({ id: `d${i}` })));

    const { run, args } = await importJson(store, ['--dry-run', file]);

    expect(run.code, describeRun(args, run)).toBe(0);
    const exists = await access(store).then(
      () => true,
      () => false,
    );
    if (exists) {
      expect(await exportLines(store)).toEqual([]);
      expect((await getValue(store, 'd0')).code).toBe(1);
    }
  });
});

describe('--resume imports only what an earlier run did not commit', () => {
  it('skips the committed records and imports the lines appended since', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'log.ndjson'), ndjson(20, (i) => ({ id: `r${String(i).padStart(2, '0')}` })));
    await importOk(store, ['--resume', file]);
    await appendFile(file, ndjson(5, (i) => ({ id: `r${20 + i}` })));

    const summary = await importOk(store, ['--resume', file]);

    expect(summary.written).toBe(5);
    expect(await exportLines(store)).toHaveLength(25);
  });
});

describe('two imports into one store at the same time', () => {
  it('both finish with exit 0 and every record of both is stored', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // Create the store first so the two runs race on writes, not on creating it.
    await importOk(store, [await writeText(join(dir, 'seed.ndjson'), '{"id":"seed"}\n')]);
    const a = await writeText(join(dir, 'a.ndjson'), ndjson(1500, (i) => ({ id: `a${i}`, pad: 'a'.repeat(i % 50) })));
    const b = await writeText(join(dir, 'b.ndjson'), ndjson(1500, (i) => ({ id: `b${i}`, pad: 'b'.repeat(i % 50) })));

    const argsA = ['import', '--store', store, '--json', '--batch-size', '50', '--inline-max', '0', a];
    const argsB = ['import', '--store', store, '--json', '--batch-size', '50', b];
    const [runA, runB] = await Promise.all([startBwrite(argsA).result, startBwrite(argsB).result]);

    expect(runA.code, describeRun(argsA, runA)).toBe(0);
    expect(runB.code, describeRun(argsB, runB)).toBe(0);
    expect(parseSummary(argsA, runA).written).toBe(1500);
    expect(parseSummary(argsB, runB).written).toBe(1500);
    expect(await exportLines(store)).toHaveLength(3001);
    const verify = await runBwrite(['verify', '--store', store]);
    expect(verify.code, describeRun(['verify'], verify)).toBe(0);
  });
});
