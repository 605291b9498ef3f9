import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../dist/store/schema.js';
import { ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, importOk, sha256, statsJson } from '../helpers/store.js';

// Counting distinct values (blob files, inline values, stored bytes) reads every item. `stats`
// does it itself only on a store of at most 10,000 items (see `bwrite stats --help`); above that it
// shows the latest count, and says when it was made once the items changed since.
const COUNTED_BY_STATS = 10_000;
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

type Stats = Awaited<ReturnType<typeof statsJson>>;

/** A store of `items` items with inline values, 100 distinct ones. */
async function storeOf(items: number): Promise<{ dir: string; store: string }> {
  const dir = await tempDir();
  const store = join(dir, 'store');
  const file = await writeText(join(dir, 'items.ndjson'), ndjson(items, (i) => ({ group: i % 100 })));
  await importOk(store, ['--key', 'k{$line}', file]);
  return { dir, store };
}

/** A value new to the stores below, which every import of `importOneBlob` stores in a blob file. */
const BLOB_VALUE = '{"text":"a value kept in a blob file"}';
const BLOB_BYTES = Buffer.byteLength(BLOB_VALUE);

/** Imports one item of key `key`, whose value is `BLOB_VALUE`. */
async function importOneBlob(dir: string, store: string, key: string): Promise<void> {
  const file = await writeText(join(dir, `${key}.ndjson`), `${BLOB_VALUE}\n`);
  await importOk(store, ['--inline-max', '0', '--key', `${key}{$line}`, file]);
}

async function stats(store: string, extra: string[] = []): Promise<string> {
  const args = ['stats', '--store', store, ...extra];
  const run = await runBwrite(args);
  expect(run.code, describeRun(args, run)).toBe(0);
  expect(run.stderr).toBe('');
  return run.stdout;
}

/** The samples of a text exposition, by metric name (no labels on the ones read here). */
function samples(text: string): Map<string, number> {
  if (hasPromtool) expect(spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' }).status).toBe(0);
  const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  return new Map(lines.map((line) => [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))]));
}

/** "2026-12-05T03:10:00.123Z" → "2026-12-05 03:10:00Z", as the human output shows times. */
/** The human and Prometheus outputs show a current count of 1 blob file and 100 inline values, with no caveat. */
async function expectOneBlobCountedNow(store: string): Promise<void> {
  const human = await stats(store);
  expect(human).toContain('values       1 blob file, 100 inline\n');
  expect(human).not.toContain('counted ');
  const metrics = samples(await stats(store, ['--prometheus']));
  expect(metrics.get('bwrite_store_blobs')).toBe(1);
  expect(metrics.get('bwrite_store_values_current')).toBe(1);
}

function shown(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

describe('stats on a store above 10,000 items reads no item to count distinct values unless asked', () => {
  it('after an import, every format shows the last count with when it was made and that the items changed since', async () => {
    const { dir, store } = await storeOf(COUNTED_BY_STATS + 1);
    const counted = JSON.parse(await stats(store, ['--recount', '--json'])) as Stats;
    expect(counted).toMatchObject({ items: 10_001, blobs: 0, inlineValues: 100, valuesCurrent: true });
    const countedAt = counted.valuesCountedAt as string;

    await importOneBlob(dir, store, 'new1');

    // Items and bytes are running totals, exact; the distinct values are those of the count.
    const json = JSON.parse(await stats(store, ['--json'])) as Stats;
    expect(json).toMatchObject({
      items: 10_002,
      bytes: (counted.bytes as number) + BLOB_BYTES,
      blobs: 0,
      inlineValues: 100,
      storedBytes: counted.storedBytes,
      dedupRatio: null,
      valuesCountedAt: countedAt,
      valuesCurrent: false,
    });

    const human = await stats(store);
    expect(human).toContain('values       0 blob files, 100 inline\n');
    expect(human).toContain(`\ncounted      values and stored bytes at ${shown(countedAt)}, before 1 run that stored items; 'bwrite stats --recount' counts them now\n`);
    expect(human).not.toContain('dedup');

    const metrics = samples(await stats(store, ['--prometheus']));
    expect(metrics.get('bwrite_store_items')).toBe(10_002);
    expect(metrics.get('bwrite_store_blobs')).toBe(0);
    expect(metrics.get('bwrite_store_stored_bytes')).toBe(counted.storedBytes);
    expect(metrics.get('bwrite_store_values_counted_timestamp_seconds')).toBe(Date.parse(countedAt) / 1000);
    expect(metrics.get('bwrite_store_values_current')).toBe(0);
  });

  it('--recount counts the distinct values now, and the next stats shows that count as current', async () => {
    const { dir, store } = await storeOf(COUNTED_BY_STATS + 1);
    await stats(store, ['--recount']);
    await importOneBlob(dir, store, 'new1');
    await importOneBlob(dir, store, 'new2');
    const before = Date.now();

    const recounted = JSON.parse(await stats(store, ['--recount', '--json'])) as Stats;
    expect(recounted).toMatchObject({ items: 10_003, blobs: 1, inlineValues: 100, valuesCurrent: true });
    expect(Date.parse(recounted.valuesCountedAt as string)).toBeGreaterThanOrEqual(before);
    // The value new1 and new2 share is stored once.
    expect(recounted.dedupRatio).toBe(Math.round(((recounted.bytes as number) / (recounted.storedBytes as number)) * 1000) / 1000);

    const { runs: _runs, ...figures } = recounted;
    expect(JSON.parse(await stats(store, ['--json']))).toMatchObject(figures);
    await expectOneBlobCountedNow(store);
  });

  it('counts the runs since the count up to 1,000, and says "or more" beyond', async () => {
    const { store } = await storeOf(COUNTED_BY_STATS + 1);
    const countedAt = (JSON.parse(await stats(store, ['--recount', '--json'])) as Stats).valuesCountedAt as string;
    // A year of cron imports, as their runs are recorded; the one real import makes the count not current.
    const db = new Database(join(store, 'index.db'));
    const insert = db.prepare(`INSERT INTO runs (run_id, command, pid, started_at, finished_at, status, sources, read, written) VALUES (?, 'import', 1, ?, ?, 'ok', '["cron.ndjson"]', 1, 1)`);
    db.transaction(() => {
      for (let i = 1; i <= 1500; i++) insert.run(`cron${i}`, Date.parse(countedAt) + i, Date.parse(countedAt) + i + 1);
    })();
    db.close();
    await importOneBlob(join(store, '..'), store, 'new1');

    expect(await stats(store)).toContain(`\ncounted      values and stored bytes at ${shown(countedAt)}, before 1,000 or more runs that stored items; 'bwrite stats --recount' counts them now\n`);
  });

  it('a store never counted shows no distinct figures, only how to count them', async () => {
    const { store } = await storeOf(COUNTED_BY_STATS + 1);

    expect(JSON.parse(await stats(store, ['--json']))).toMatchObject({
      items: 10_001,
      blobs: null,
      inlineValues: null,
      storedBytes: null,
      dedupRatio: null,
      valuesCountedAt: null,
      valuesCurrent: false,
    });
    const human = await stats(store);
    expect(human).toContain('values       not counted\n');
    expect(human).toMatch(/\nbytes        [\d.]+ KiB logical, stored not counted\n/);
    expect(human).toContain(`\ncounted      values and stored bytes: never; 'bwrite stats --recount' counts them now\n`);
    const metrics = samples(await stats(store, ['--prometheus']));
    expect(metrics.get('bwrite_store_items')).toBe(10_001);
    for (const name of ['bwrite_store_blobs', 'bwrite_store_stored_bytes', 'bwrite_store_values_counted_timestamp_seconds']) expect(metrics.has(name), name).toBe(false);
    expect(metrics.get('bwrite_store_values_current')).toBe(0);
  });
});

describe('stats on a store of at most 10,000 items counts its distinct values whenever they changed', () => {
  it('after an import, every format shows exact figures with no caveat', async () => {
    const { dir, store } = await storeOf(COUNTED_BY_STATS - 1);
    await stats(store);
    await importOneBlob(dir, store, 'new1');

    const json = JSON.parse(await stats(store, ['--json'])) as Stats;
    expect(json).toMatchObject({ items: 10_000, blobs: 1, inlineValues: 100, valuesCurrent: true });
    expect(json.dedupRatio).toBeGreaterThan(1);
    await expectOneBlobCountedNow(store);
  });
});

/**
 * A store as the release before schema version 4 leaves it: the release's migrations, items
 * inserted as its imports insert them, the running totals its migration counts, one run, and the
 * count of distinct values its `stats` keeps (of `countGeneration`: 1 is the store's generation).
 */
async function schema3Store(items: number, countGeneration: number): Promise<{ store: string; values: string[] }> {
  const dir = await tempDir();
  const store = join(dir, 'store');
  await mkdir(join(store, 'blobs'), { recursive: true, mode: 0o700 });
  await mkdir(join(store, 'tmp'), { mode: 0o700 });
  const db = new Database(join(store, 'index.db'));
  db.pragma('journal_mode = WAL');
  const values = Array.from({ length: items }, (_, i) => JSON.stringify({ id: `k${String(i).padStart(6, '0')}`, group: i % 100 }));
  db.transaction(() => {
    db.exec(MIGRATIONS[0]!);
    const insert = db.prepare(`INSERT INTO items (key, sha256, size, type, inline, run_id, created_at, updated_at) VALUES (?, ?, ?, 'json', ?, 'r1', 1, 1)`);
    values.forEach((value, i) => insert.run(`k${String(i).padStart(6, '0')}`, sha256(value), Buffer.byteLength(value), Buffer.from(value)));
    db.exec(MIGRATIONS[1]!);
    db.exec(MIGRATIONS[2]!);
    db.prepare(`INSERT INTO meta (name, value) VALUES ('app', 'bwrite'), ('schema_version', '3')`).run();
    db.prepare(`INSERT INTO runs (run_id, command, pid, started_at, finished_at, status, sources, read, written) VALUES ('r1', 'import', 1, 1000, 2000, 'ok', '["in.ndjson"]', ?, ?)`).run(items, items);
    const bytes = values.reduce((sum, value) => sum + Buffer.byteLength(value), 0);
    db.prepare(`INSERT INTO value_totals (id, generation, blobs, inline_values, stored_bytes) VALUES (1, ?, 0, ?, ?)`).run(countGeneration, items, bytes);
  })();
  db.close();
  return { store, values };
}

describe('a store of schema version 3 is upgraded in place (through versions 4 and 5)', () => {
  it('with every item, run and total kept, and its current count of distinct values dated at the upgrade', async () => {
    const { store, values } = await schema3Store(COUNTED_BY_STATS + 1, 1);
    const before = Date.now();

    const upgraded = await statsJson(store);
    const bytes = values.reduce((sum, value) => sum + Buffer.byteLength(value), 0);
    expect(upgraded).toMatchObject({ items: 10_001, bytes, blobs: 0, inlineValues: 10_001, storedBytes: bytes, dedupRatio: 1, valuesCurrent: true, byType: { json: { items: 10_001, bytes } } });
    expect(Date.parse(upgraded.valuesCountedAt as string)).toBeGreaterThanOrEqual(before);
    expect(upgraded.runs).toMatchObject([{ runId: 'r1', status: 'ok', written: 10_001, deleted: 0 }]);
    expect(await exportLines(store)).toEqual(values);
    const verify = await runBwrite(['verify', '--store', store]);
    expect(verify.code, describeRun(['verify'], verify)).toBe(0);

    // The upgraded store takes imports and keeps its totals exact.
    const dir = join(store, '..');
    await importOneBlob(dir, store, 'new1');
    expect(JSON.parse(await stats(store, ['--recount', '--json']))).toMatchObject({ items: 10_002, blobs: 1, inlineValues: 10_001, storedBytes: bytes + BLOB_BYTES, valuesCurrent: true });
    // And deletes, counted in the history's column that schema version 5 added.
    const deleted = await runBwrite(['delete', '--store', store, 'k000000']);
    expect(deleted.code, describeRun(['delete'], deleted)).toBe(0);
    const after = await statsJson(store);
    expect(after).toMatchObject({ items: 10_001, bytes: bytes - Buffer.byteLength(values[0]!) + BLOB_BYTES });
    expect(after.runs[0]).toMatchObject({ command: 'delete', deleted: 1 });
  });

  it('dropping a count of items that changed since, whose time the older release did not keep', async () => {
    const { store } = await schema3Store(COUNTED_BY_STATS + 1, 0);

    expect(await statsJson(store)).toMatchObject({ items: 10_001, blobs: null, storedBytes: null, valuesCountedAt: null, valuesCurrent: false });
    expect(JSON.parse(await stats(store, ['--recount', '--json']))).toMatchObject({ items: 10_001, blobs: 0, inlineValues: 10_001, valuesCurrent: true });
  });
});
