import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, ndjson, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportMap, getValue, importJson, importOk, readFailures, sha256 } from '../helpers/store.js';

describe('keys come from the --key spec', () => {
  it('uses the id field by default', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":"alpha","n":1}\n{"id":"beta","n":2}\n');

    await importOk(store, [file]);

    expect([...(await exportMap(store)).keys()]).toEqual(['alpha', 'beta']);
  });

  it('uses another top-level field named by --key', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":"1","email":"a@example.org"}\n{"id":"2","email":"b@example.org"}\n');

    await importOk(store, ['-k', 'email', file]);

    expect([...(await exportMap(store)).keys()]).toEqual(['a@example.org', 'b@example.org']);
  });

  it('follows a dotted path such as user.id into nested objects', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(
      join(dir, 'in.ndjson'),
      '{"user":{"id":"u1","name":"Ann"},"event":"login"}\n{"user":{"id":"u2","name":"Bo"},"event":"logout"}\n',
    );

    await importOk(store, ['--key', 'user.id', file]);

    const map = await exportMap(store);
    expect([...map.keys()]).toEqual(['u1', 'u2']);
    expect(map.get('u2')).toEqual({ user: { id: 'u2', name: 'Bo' }, event: 'logout' });
  });

  it('takes a field whose own name has dots, such as a CSV column user.id, before a nested path', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const csv = await writeText(join(dir, 'users.csv'), 'user.id,name\nu1,Ann\nu2,Bo\n');
    const json = await writeText(join(dir, 'both.ndjson'), '{"user.id":"flat","user":{"id":"nested"}}\n{"user":{"id":"u3"}}\n');

    await importOk(store, ['--key', 'user.id', csv]);
    await importOk(store, ['--key', 'order-{user.id}', json]);

    const map = await exportMap(store);
    expect([...map.keys()]).toEqual(['order-flat', 'order-u3', 'u1', 'u2']);
    expect(map.get('u2')).toEqual({ 'user.id': 'u2', name: 'Bo' });
  });

  it('fills a template such as sensor:{sensor}:{ts} from the record', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(
      join(dir, 'readings.ndjson'),
      ndjson(6, (i) => ({ sensor: i % 2 === 0 ? 'north' : 'south', ts: 1700000000 + i, celsius: 20 + i })),
    );

    await importOk(store, ['--key', 'sensor:{sensor}:{ts}', file]);

    const map = await exportMap(store);
    expect([...map.keys()]).toEqual([
      'sensor:north:1700000000',
      'sensor:north:1700000002',
      'sensor:north:1700000004',
      'sensor:south:1700000001',
      'sensor:south:1700000003',
      'sensor:south:1700000005',
    ]);
    expect(map.get('sensor:south:1700000003')).toEqual({ sensor: 'south', ts: 1700000003, celsius: 23 });
  });

  it('makes {$hash} the SHA-256 hex of the stored value bytes', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const text = ndjson(5, (i) => ({ reading: i * 7, label: `r${i}` }));
    const file = await writeText(join(dir, 'in.ndjson'), text);

    await importOk(store, ['--key', '{$hash}', file]);

    const keys = [...(await exportMap(store)).keys()];
    // The input is compact, so each stored value is exactly its line.
    expect(keys).toEqual(linesOf(text).map((line) => sha256(line)).sort());
    for (const key of keys) {
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      const got = await getValue(store, key);
      expect(got.code).toBe(0);
      expect(got.stdout.endsWith('\n')).toBe(true);
      expect(sha256(Buffer.from(got.stdout.slice(0, -1), 'utf8'))).toBe(key);
    }
  });

  it('makes {$line} the 1-based line number where the record starts, counting blank lines', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // Line 3 is blank, so the records are on lines 1, 2, 4 and 5.
    const file = await writeText(join(dir, 'in.ndjson'), '{"v":"a"}\n{"v":"b"}\n\n{"v":"c"}\n{"v":"d"}\n');

    await importOk(store, ['--key', 'row-{$line}', file]);

    const map = await exportMap(store);
    expect(Object.fromEntries(map)).toEqual({
      'row-1': { v: 'a' },
      'row-2': { v: 'b' },
      'row-4': { v: 'c' },
      'row-5': { v: 'd' },
    });
  });

  it('uses CSV header names in key templates', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.csv'), 'country,city,pop\nFR,Paris,2100000\nDE,Berlin,3600000\n');

    await importOk(store, ['--key', '{country}/{city}', file]);

    expect([...(await exportMap(store)).keys()]).toEqual(['DE/Berlin', 'FR/Paris']);
  });

  it('accepts a key of exactly 1024 bytes and fails one of 1026 bytes with E_KEY_TOO_LONG', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const ok = 'é'.repeat(512); // 1024 bytes of UTF-8 in 512 characters
    const tooLong = 'é'.repeat(513); // 1026 bytes in 513 characters
    const file = await writeText(
      join(dir, 'in.ndjson'),
      `${JSON.stringify({ id: ok })}\n${JSON.stringify({ id: tooLong })}\n{"id":"short"}\n`,
    );

    const { run, summary, args } = await importJson(store, [file]);

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ read: 3, written: 2, failed: 1 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ line: 2, code: 'E_KEY_TOO_LONG' });
    expect((await getValue(store, ok)).code).toBe(0);
  });

  it('fails a record whose key field is an object with E_KEY_INVALID, alone', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":"good1"}\n{"id":{"nested":true}}\n{"id":"good2"}\n');

    const { run, summary, args } = await importJson(store, [file]);

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 2, failed: 1 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ line: 2, code: 'E_KEY_INVALID' });
  });

  it('fails a record whose template field is missing with E_KEY_MISSING', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"a":"x","b":"y"}\n{"a":"z"}\n');

    const { run, summary, args } = await importJson(store, ['--key', '{a}-{b}', file]);

    expect(run.code, describeRun(args, run)).toBe(1);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ line: 2, code: 'E_KEY_MISSING', key: null });
    expect([...(await exportMap(store)).keys()]).toEqual(['x-y']);
  });

  it('stores keys that look like paths without creating files named after them', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const keys = ['../../escape', '/etc/passwd', 'a/b/c', '..', 'con:nul?*'];
    const file = await writeText(join(dir, 'in.ndjson'), keys.map((id, n) => JSON.stringify({ id, n })).join('\n') + '\n');

    await importOk(store, ['--inline-max', '0', file]);

    for (const [n, key] of keys.entries()) {
      const got = await getValue(store, key);
      expect(got.code, key).toBe(0);
      expect(JSON.parse(got.stdout)).toEqual({ id: key, n });
    }
    expect((await readdir(dir)).sort()).toEqual(['in.ndjson', 'store']);
  });
});
