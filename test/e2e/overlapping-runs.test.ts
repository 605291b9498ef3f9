import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, startBwrite, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { describeRun, exportLines, importOk, parseSummary } from '../helpers/store.js';
import { exists, expectVerifies, pad } from '../helpers/robustness.js';

const PER_FILE = 2000;
const SHARED = 200;

/** File `f` of three: its own records, plus SHARED records that every file holds (the same key and bytes). */
function fileText(f: number, variant: 'v' | 'w'): string {
  const own = ndjson(PER_FILE, (i) => ({ id: `f${f}-${pad(i, 5)}`, v: variant, n: i * 7 + f }));
  const shared = ndjson(SHARED, (i) => ({ id: `shared-${pad(i, 4)}`, v: variant, n: i }));
  return own + shared;
}

describe('imports and gc running on one store at the same time', () => {
  it('three imports and a gc loop all succeed, no SQLITE_BUSY reaches the user, and every record is stored', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const files = await Promise.all([1, 2, 3].map((f) => writeText(join(dir, `in-${f}.ndjson`), fileText(f, 'v'))));
    const others = await Promise.all([1, 2, 3].map((f) => writeText(join(dir, `other-${f}.ndjson`), fileText(f, 'w'))));
    const options = ['--inline-max', '0', '--batch-size', '100', '--progress', 'none'];

    // Store the values once, then replace them: their blobs are now unreferenced and old, exactly
    // what gc removes, and exactly what the overlapping imports are about to refer to again.
    await importOk(store, [...options, ...files], { timeoutMs: 60_000 });
    await importOk(store, [...options, ...others], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 200));

    const imports = files.map((file) => startBwrite(['import', '--store', store, '--json', ...options, file], { timeoutMs: 60_000 }));
    let running = true;
    const done = Promise.all(imports.map((i) => i.result)).finally(() => {
      running = false;
    });
    const gcRuns: RunResult[] = [];
    while (running) gcRuns.push(await runBwrite(['gc', '--store', store], { timeoutMs: 30_000 }));
    const results = await done;
    // And one gc after they ended: the unreferenced 'w' blobs go, the live ones stay.
    gcRuns.push(await runBwrite(['gc', '--store', store]));

    for (const [i, run] of results.entries()) {
      expect(run.code, describeRun(['import', files[i]!], run)).toBe(0);
      expect(run.stderr).not.toMatch(/SQLITE_BUSY|database is locked/i);
      expect(parseSummary(['import'], run)).toMatchObject({ status: 'ok', written: PER_FILE + SHARED, failed: 0 });
    }
    expect(gcRuns.length, 'gc ran while the imports ran').toBeGreaterThan(1);
    for (const run of gcRuns) {
      expect(run.code, describeRun(['gc'], run)).toBe(0);
      expect(run.stderr).not.toMatch(/SQLITE_BUSY|database is locked/i);
    }
    await expectVerifies(store, 'after three imports and gc', true);
    const expected = [1, 2, 3].flatMap((f) => ndjson(PER_FILE, (i) => ({ id: `f${f}-${pad(i, 5)}`, v: 'v', n: i * 7 + f })).trimEnd().split('\n'));
    expected.push(...ndjson(SHARED, (i) => ({ id: `shared-${pad(i, 4)}`, v: 'v', n: i })).trimEnd().split('\n'));
    expect(await exportLines(store)).toEqual(expected.sort((a, b) => (JSON.parse(a).id < JSON.parse(b).id ? -1 : 1)));

    // The WAL was checkpointed: it does not keep growing across runs.
    const wal = join(store, 'index.db-wal');
    if (await exists(wal)) expect((await stat(wal)).size, 'index.db-wal size in bytes').toBeLessThan(4 * 1024 * 1024);
  }, 120_000);

  it('gc never removes a blob that a running import just wrote but has not committed yet', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // Large batches commit late: gc sees many written-but-uncommitted blobs.
    const file = await writeText(join(dir, 'slow.ndjson'), ndjson(4000, (i) => ({ id: `s${pad(i)}`, body: `value-${i}` })));
    await importOk(store, ['--inline-max', '0', await writeText(join(dir, 'seed.ndjson'), '{"id":"seed"}\n')]);

    const importing = startBwrite(['import', '--store', store, '--inline-max', '0', '--batch-size', '2000', '--json', file], { timeoutMs: 60_000 });
    let running = true;
    void importing.result.finally(() => {
      running = false;
    });
    let gcs = 0;
    while (running) {
      const gc = await runBwrite(['gc', '--store', store]);
      expect(gc.code, describeRun(['gc'], gc)).toBe(0);
      gcs++;
    }
    const run = await importing.result;

    expect(run.code, describeRun(['import'], run)).toBe(0);
    expect(gcs).toBeGreaterThan(0);
    await expectVerifies(store, 'after an import with gc running beside it', true);
    expect(await exportLines(store)).toHaveLength(4001);
  }, 60_000);
});
