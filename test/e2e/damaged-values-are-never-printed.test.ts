import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { linesOf, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, expectErrorLine, getValue, importOk, sha256 } from '../helpers/store.js';

const VALUES = ['{"id":"a","n":1}', '{"id":"b","n":2}', '{"id":"c","n":3}'];

/** A store of a, b and c, each value in its own blob file; returns the path of b's blob. */
async function storeOfThree(): Promise<{ store: string; blobOfB: string }> {
  const dir = await tempDir();
  const store = join(dir, 'store');
  await importOk(store, ['--inline-max', '0', await writeText(join(dir, 'in.ndjson'), `${VALUES.join('\n')}\n`)]);
  const digest = sha256(VALUES[1]!);
  return { store, blobOfB: join(store, 'blobs', digest.slice(0, 2), digest) };
}

describe('get and export never print a damaged or missing value as if it were stored', () => {
  it('get of a value whose blob was changed in place (same size) exits 3 with one line naming the key and bwrite verify', async () => {
    const { store, blobOfB } = await storeOfThree();
    await writeFile(blobOfB, (await readFile(blobOfB, 'utf8')).replace('2', '9'));

    const got = await getValue(store, 'b');

    expect(got.code, describeRun(['get', 'b'], got)).toBe(3);
    expect(got.stdout).toBe('');
    expectErrorLine(got);
    expect(got.stderr).toContain("key 'b'");
    expect(got.stderr).toContain("'bwrite verify'");
    expect((await getValue(store, 'a')).stdout).toBe(`${VALUES[0]}\n`);
  });

  it('get of a value whose blob is missing exits 3 (a store problem), not 1 (key absent) or an unexpected error', async () => {
    const { store, blobOfB } = await storeOfThree();
    await rm(blobOfB);

    const got = await getValue(store, 'b');

    expect(got.code, describeRun(['get', 'b'], got)).toBe(3);
    expectErrorLine(got);
    expect(got.stderr).toMatch(/key 'b'.*missing.*bwrite verify/);
    expect(got.stderr).not.toContain('unexpected');
  });

  it('export leaves a damaged value out, prints every intact one, names the key and exits 3', async () => {
    const { store, blobOfB } = await storeOfThree();
    await writeFile(blobOfB, 'x'.repeat(VALUES[1]!.length));

    const args = ['export', '--store', store];
    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(3);
    expect(linesOf(run.stdout)).toEqual([VALUES[0], VALUES[2]]);
    const errors = run.stderr.trimEnd().split('\n');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^bwrite: error: .*key 'b'.*bwrite verify/);
    expect(errors[1]).toMatch(/^bwrite: error: 1 value could not be read .*bwrite verify/);
  });

  it('a value kept inline in the index is checked the same way', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importOk(store, [await writeText(join(dir, 'in.ndjson'), '{"id":"k","n":1}\n')]);
    const db = new Database(join(store, 'index.db'));
    db.prepare('UPDATE items SET inline = ? WHERE key = ?').run(Buffer.from('{"id":"k","n":7}'), 'k');
    db.close();

    const got = await getValue(store, 'k');

    expect(got.code, describeRun(['get', 'k'], got)).toBe(3);
    expect(got.stderr).toMatch(/key 'k'.*inline copy.*bwrite verify/);
  });
});
