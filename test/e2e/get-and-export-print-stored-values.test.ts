import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, linesOf, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, getValue, importOk } from '../helpers/store.js';

describe('get and export print what was stored', () => {
  it('get prints a stored NDJSON value exactly as it appeared in the input, then a newline', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const line = '{"id":"k1","nested":{"a":[1,2,3]},"text":"h\\u00e9llo \\"q\\""}';
    const file = await writeText(join(dir, 'in.ndjson'), `${line}\n`);
    await importOk(store, [file]);

    const got = await getValue(store, 'k1');

    expect(got.code, describeRun(['get', 'k1'], got)).toBe(0);
    expect(got.stdout).toBe(`${line}\n`);
  });

  it('get prints a CSV row as a JSON object keyed by the header', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importOk(store, [fixture('people.csv')]);

    const got = await getValue(store, 'p03');

    expect(got.code).toBe(0);
    expect(got.stdout.endsWith('\n')).toBe(true);
    expect(JSON.parse(got.stdout)).toEqual({ id: 'p03', name: 'Hopper, Grace', age: '85', active: 'true', city: 'Arlington' });
  });

  it('get exits 1 for a key that is not stored, printing nothing on stdout', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importOk(store, [fixture('people.ndjson')]);

    const got = await getValue(store, 'nobody');

    expect(got.code, describeRun(['get', 'nobody'], got)).toBe(1);
    expect(got.stdout).toBe('');
  });

  it('export prints every value as NDJSON ordered by key, whatever the input order', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const keys = ['m', 'b', 'z', 'a', 'k', 'c'];
    const file = await writeText(join(dir, 'in.ndjson'), keys.map((id) => JSON.stringify({ id, v: id.toUpperCase() })).join('\n') + '\n');
    await importOk(store, [file]);

    const lines = await exportLines(store);

    expect(lines).toEqual([...keys].sort().map((id) => JSON.stringify({ id, v: id.toUpperCase() })));
  });

  it('export --prefix prints only the keys that start with the prefix', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const keys = ['user:1', 'user:2', 'order:1', 'user-x', 'users:9'];
    const file = await writeText(join(dir, 'in.ndjson'), keys.map((id) => JSON.stringify({ id })).join('\n') + '\n');
    await importOk(store, [file]);

    const lines = await exportLines(store, ['--prefix', 'user:']);

    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([{ id: 'user:1' }, { id: 'user:2' }]);
  });

  it('export --with-keys prints {"key","value"} lines, ordered by key', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"ref":"b","n":2}\n{"ref":"a","n":1}\n');
    await importOk(store, ['--key', 'item/{ref}', file]);

    const lines = await exportLines(store, ['--with-keys']);

    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { key: 'item/a', value: { ref: 'a', n: 1 } },
      { key: 'item/b', value: { ref: 'b', n: 2 } },
    ]);
  });

  it('export --with-keys --prefix combine', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importOk(store, [fixture('people.ndjson')]);

    const lines = await exportLines(store, ['--with-keys', '--prefix', 'p1']);

    expect(lines.map((l) => (JSON.parse(l) as { key: string }).key)).toEqual([
      'p10', 'p11', 'p12', 'p13', 'p14', 'p15', 'p16', 'p17', 'p18', 'p19',
    ]);
  });

  it('export --prefix prints nothing when no key matches', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":"x"}\n');
    await importOk(store, [file]);
    const args = ['export', '--store', store, '--prefix', 'nothing-matches'];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(linesOf(run.stdout)).toEqual([]);
  });

  it('export prints records imported with --type csvrow as JSON, so export | import round-trips', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const lines = ['{"id":"a","n":18446744073709551615}', '{"id":"b","s":"x"}'];
    const file = await writeText(join(dir, 'in.ndjson'), `${lines.join('\n')}\n`);
    await importOk(store, ['--type', 'csvrow', file]);

    const exported = await exportLines(store);
    const withKeys = await exportLines(store, ['--with-keys']);

    expect(exported).toEqual(lines);
    expect(withKeys).toEqual([`{"key":"a","value":${lines[0]}}`, `{"key":"b","value":${lines[1]}}`]);
    const again = await writeText(join(dir, 'again.ndjson'), `${exported.join('\n')}\n`);
    await importOk(join(dir, 'store2'), ['--type', 'csvrow', again]);
    expect(await exportLines(join(dir, 'store2'))).toEqual(lines);
  });
});
