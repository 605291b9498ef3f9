import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { fixture, linesOf, ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { blobFiles, describeRun, exportLines, exportValues, getValue, importOk, sha256, statsJson, walk } from '../helpers/store.js';

describe('blobs are content-addressed', () => {
  it('puts every value under blobs/xx/<sha256> with --inline-max 0, bytes hashing to the name', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const text = await readFile(fixture('people.ndjson'), 'utf8');

    await importOk(store, ['--inline-max', '0', fixture('people.ndjson')]);

    const blobs = await blobFiles(store);
    expect(blobs).toHaveLength(20);
    const contents = new Set<string>();
    for (const blob of blobs) {
      expect(blob.rel).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{64}$/);
      const [fanout, name] = blob.rel.split('/') as [string, string];
      expect(fanout).toBe(name.slice(0, 2));
      const bytes = await readFile(blob.path);
      expect(sha256(bytes)).toBe(name);
      contents.add(bytes.toString('utf8'));
    }
    // The input lines are compact, so each stored value is its line.
    expect(contents).toEqual(new Set(linesOf(text)));
  });

  it('stores identical values once', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // 10 distinct records, each on 3 lines; {$line} makes 30 distinct keys.
    const file = await writeText(join(dir, 'dupes.ndjson'), ndjson(30, (i) => ({ colour: `c${i % 10}`, shade: i % 10 })));

    const summary = await importOk(store, ['--inline-max', '0', '--key', 'row{$line}', file]);

    expect(summary.written).toBe(30);
    expect(await blobFiles(store)).toHaveLength(10);
    const stats = await statsJson(store);
    expect(stats.items).toBe(30);
    expect(stats.blobs).toBe(10);
    expect(await exportLines(store)).toHaveLength(30);
  });

  it('round-trips values through get and export with a large --inline-max', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const text = ndjson(40, (i) => ({ id: `v${String(i).padStart(2, '0')}`, body: 'x'.repeat(i * 97) }));
    const file = await writeText(join(dir, 'sizes.ndjson'), text);

    await importOk(store, ['--inline-max', '1048576', file]);

    expect(await exportLines(store)).toEqual(linesOf(text));
    const got = await getValue(store, 'v39');
    expect(got.stdout).toBe(`${linesOf(text)[39]}\n`);
  });

  it('round-trips values on both sides of a small --inline-max', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const text = ndjson(40, (i) => ({ id: `v${String(i).padStart(2, '0')}`, body: 'y'.repeat(i * 7) }));
    const file = await writeText(join(dir, 'sizes.ndjson'), text);

    await importOk(store, ['--inline-max', '100', file]);

    expect(await exportLines(store)).toEqual(linesOf(text));
    for (const blob of await blobFiles(store)) {
      expect(sha256(await readFile(blob.path))).toBe(blob.rel.split('/')[1]);
    }
    const verify = await runBwrite(['verify', '--deep', '--store', store]);
    expect(verify.code, describeRun(['verify', '--deep'], verify)).toBe(0);
  });

  it('stores multi-byte UTF-8 text byte for byte', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const line = '{"id":"u","s":"日本語 — emoji 🎉 and \\u0000 escaped"}';
    await writeText(join(dir, 'u.ndjson'), `${line}\n`);

    await importOk(store, ['--inline-max', '0', join(dir, 'u.ndjson')]);

    expect((await getValue(store, 'u')).stdout).toBe(`${line}\n`);
    expect(await exportValues(store)).toEqual([JSON.parse(line)]);
  });
});

describe('the store is private to its owner', () => {
  it('makes every directory 0700 and every file 0600 even under umask 000', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const opts = { umask: '000', cwd: dir };
    const failing = await writeText(join(dir, 'mixed.ndjson'), '{"id":"a","v":1}\nnot json\n{"id":"b","v":2}\n');

    const imported = await runBwrite(['import', '--store', store, '--inline-max', '0', fixture('people.ndjson')], opts);
    expect(imported.code, describeRun(['import'], imported)).toBe(0);
    const partial = await runBwrite(['import', '--store', store, '--inline-max', '0', failing], opts);
    expect(partial.code, describeRun(['import', failing], partial)).toBe(1);
    for (const args of [['stats'], ['get', 'p01'], ['export'], ['verify', '--deep'], ['gc']]) {
      const run = await runBwrite([...args, '--store', store], opts);
      expect(run.code, describeRun(args, run)).toBe(0);
    }

    expect((await stat(store)).mode & 0o777).toBe(0o700);
    const entries = await walk(store);
    expect(entries.some((e) => e.rel.startsWith('failures/'))).toBe(true);
    expect(entries.some((e) => e.rel.startsWith('blobs/') && e.stat.isFile())).toBe(true);
    const wrong = entries
      .filter((e) => (e.stat.isDirectory() ? (e.stat.mode & 0o777) !== 0o700 : (e.stat.mode & 0o777) !== 0o600))
      .map((e) => `${e.rel} ${(e.stat.mode & 0o777).toString(8)}`);
    expect(wrong).toEqual([]);
  });
});

describe('the index', () => {
  it('is SQLite in WAL mode with 16 KiB pages when new, and an index made with 4 KiB pages keeps working as it is', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importOk(store, [fixture('people.ndjson')]);
    const fresh = new Database(join(store, 'index.db'), { readonly: true });
    expect([fresh.pragma('journal_mode', { simple: true }), fresh.pragma('page_size', { simple: true })]).toEqual(['wal', 16384]);
    fresh.close();

    // An index from before: 4 KiB pages (VACUUM outside WAL mode rewrites it with the page size asked for).
    const old = join(dir, 'old');
    await runBwrite(['import', '--store', old, '-q', fixture('people.ndjson')]);
    const db = new Database(join(old, 'index.db'));
    db.pragma('journal_mode = DELETE');
    db.pragma('page_size = 4096');
    db.exec('VACUUM');
    db.pragma('journal_mode = WAL');
    db.close();
    const more = await writeText(join(dir, 'more.ndjson'), ndjson(50, (i) => ({ id: `m${i}` })));
    await importOk(old, [more]);
    const after = new Database(join(old, 'index.db'), { readonly: true });
    expect(after.pragma('page_size', { simple: true })).toBe(4096);
    after.close();
    expect((await runBwrite(['verify', '--deep', '--store', old])).code).toBe(0);
    expect(await exportLines(old)).toHaveLength(70);
  });
});
