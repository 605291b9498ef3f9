import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../dist/store/schema.js';
import { ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportMap, importOk, sha256, statsJson } from '../helpers/store.js';

// `stats` reads running totals instead of scanning the items; these tests hold them to what a
// user can count independently: export's values, verify's blob files.

interface Expected {
  items: number;
  bytes: number;
  storedBytes: number;
  blobs: number;
  inlineValues: number;
}

/** The figures stats must show, counted from `export` and `verify --json`. */
async function countedFigures(store: string): Promise<Expected> {
  // Values of a type other than json are exported as strings of their bytes.
  const values = [...(await exportMap(store)).values()].map((value) => (typeof value === 'string' ? value : JSON.stringify(value)));
  const distinct = new Set(values);
  const args = ['verify', '--store', store, '--json'];
  const run = await runBwrite(args);
  expect(run.code, describeRun(args, run)).toBe(0);
  const verify = JSON.parse(run.stdout) as { blobs: number; orphanBlobs: number };
  const blobs = verify.blobs - verify.orphanBlobs;
  return {
    items: values.length,
    bytes: values.reduce((sum, v) => sum + Buffer.byteLength(v), 0),
    storedBytes: [...distinct].reduce((sum, v) => sum + Buffer.byteLength(v), 0),
    blobs,
    inlineValues: distinct.size - blobs,
  };
}

describe('stats follows every change to the store', () => {
  it('after replaces, skips, repeated values, other types and a change of --inline-max', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // 40 keys, 8 distinct values, every value in a blob file.
    const first = await writeText(join(dir, 'first.ndjson'), ndjson(40, (i) => ({ group: i % 8, pad: 'a'.repeat(50 + (i % 8)) })));
    await importOk(store, ['--inline-max', '0', '--key', 'k{$line}', first]);
    expect(await statsJson(store)).toMatchObject({ ...(await countedFigures(store)), byType: { json: { items: 40 } } });

    // 10 of them replaced by values kept inline, of another type, one of them repeated.
    const second = await writeText(join(dir, 'second.ndjson'), ndjson(10, (i) => ({ group: i % 3, longer: 'b'.repeat(70) })));
    await importOk(store, ['--type', 'other', '--key', 'k{$line}', second]);
    expect(await statsJson(store)).toMatchObject({ ...(await countedFigures(store)), byType: { json: { items: 30 }, other: { items: 10 } } });

    // Skip leaves the 40 alone and adds 5 new keys; replacing a key with its own value changes nothing.
    const third = await writeText(join(dir, 'third.ndjson'), ndjson(45, (i) => ({ third: i })));
    await importOk(store, ['--on-conflict', 'skip', '--key', 'k{$line}', third]);
    await importOk(store, ['--type', 'other', '--key', 'k{$line}', second]);
    const stats = await statsJson(store);
    expect(stats).toMatchObject({ ...(await countedFigures(store)), byType: { json: { items: 35 }, other: { items: 10 } } });
    expect(stats.items).toBe(45);
  });

  it('a store made before running totals existed is counted when it is first opened', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await mkdir(join(store, 'blobs'), { recursive: true, mode: 0o700 });
    await mkdir(join(store, 'tmp'), { mode: 0o700 });
    const db = new Database(join(store, 'index.db'));
    db.exec(MIGRATIONS[0]!);
    db.prepare(`INSERT INTO meta (name, value) VALUES ('app', 'bwrite'), ('schema_version', '1')`).run();
    const insert = db.prepare(`INSERT INTO items (key, sha256, size, type, inline, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0)`);
    for (const [key, value, type] of [['a', '{"v":1}', 'json'], ['b', '{"v":1}', 'json'], ['c', '{"v":22}', 'csv']] as const) {
      const bytes = Buffer.from(value);
      insert.run(key, sha256(bytes), bytes.length, type, bytes);
    }
    db.close();

    expect(await statsJson(store)).toMatchObject({ items: 3, bytes: 22, storedBytes: 15, blobs: 0, inlineValues: 2, byType: { json: { items: 2, bytes: 14 }, csv: { items: 1, bytes: 8 } } });

    const more = await writeText(join(dir, 'more.ndjson'), '{"id":"d","v":3}\n');
    await importOk(store, [more]);
    expect(await statsJson(store)).toMatchObject({ ...(await countedFigures(store)), items: 4 });
  });

  it('verify reports totals that drifted from the index, and gc counts them again', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), ndjson(20, (i) => ({ id: `d${i}`, n: i })));
    await importOk(store, [file]);
    const db = new Database(join(store, 'index.db'));
    db.prepare(`UPDATE type_totals SET items = items + 5 WHERE type = 'json'`).run();
    db.close();

    const verify = await runBwrite(['verify', '--store', store]);
    expect(verify.code, describeRun(['verify'], verify)).toBe(1);
    expect(verify.stdout + verify.stderr).toMatch(/type 'json'.*25 items.*index holds 20.*'bwrite gc'/);

    const gc = await runBwrite(['gc', '--store', store]);
    expect(gc.code, describeRun(['gc'], gc)).toBe(0);
    expect(gc.stdout).toContain('counted the items again');
    expect((await runBwrite(['verify', '--store', store])).code).toBe(0);
    expect((await statsJson(store)).items).toBe(20);
  });
});
