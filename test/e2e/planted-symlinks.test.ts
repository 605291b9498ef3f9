import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, getValue, importJson, importOk, sha256 } from '../helpers/store.js';
import { expectOnlyBwriteLines, failuresOf, treeOf } from '../helpers/robustness.js';

/** A store that exists (so blobs/ can be planted in), and an outside directory an attacker points at. */
async function storeAndOutside(): Promise<{ dir: string; store: string; outside: string }> {
  const dir = await tempDir();
  const store = join(dir, 'store');
  await importOk(store, ['--inline-max', '0', await writeText(join(dir, 'seed.ndjson'), '{"id":"seed"}\n')]);
  const outside = join(dir, 'outside');
  await mkdir(outside);
  return { dir, store, outside };
}

describe('a symlink planted inside blobs/ is neither followed nor written through', () => {
  it('a symlink in place of blobs/<xx>/<digest> leaves its target unchanged, and get returns the imported value', async () => {
    const { dir, store, outside } = await storeAndOutside();
    const value = '{"id":"victim","secret":false}';
    const digest = sha256(value);
    const target = await writeText(join(outside, 'target.txt'), 'the attacker wants this file overwritten or served\n');
    await mkdir(join(store, 'blobs', digest.slice(0, 2)), { recursive: true });
    await symlink(target, join(store, 'blobs', digest.slice(0, 2), digest));

    const { run, summary, args } = await importJson(store, ['--inline-max', '0', await writeText(join(dir, 'in.ndjson'), `${value}\n`)], { cwd: dir });

    expect(await readFile(target, 'utf8')).toBe('the attacker wants this file overwritten or served\n');
    expectOnlyBwriteLines(run.stderr, describeRun(args, run));
    const got = await getValue(store, 'victim');
    if (summary.written === 1) {
      // Stored: then get must serve the imported bytes, not the link's target.
      expect(got.stdout).toBe(`${value}\n`);
    } else {
      // Or refused: then the record is in the failures file, not lost.
      expect(got.code).toBe(1);
      expect((await failuresOf(summary, dir)).map((f) => f.key)).toEqual(['victim']);
    }
  });

  it('a symlink in place of the fan-out directory blobs/<xx> gets nothing written outside the store', async () => {
    const { dir, store, outside } = await storeAndOutside();
    const value = '{"id":"fanout","n":1}';
    const fanout = join(store, 'blobs', sha256(value).slice(0, 2));
    // The seed value lives under another fan-out directory, so this one is free for the link.
    expect(sha256('{"id":"seed"}').slice(0, 2)).not.toBe(sha256(value).slice(0, 2));
    await symlink(outside, fanout);
    await writeFile(join(outside, 'keep.txt'), 'untouched');

    const { run, summary, args } = await importJson(store, ['--inline-max', '0', await writeText(join(dir, 'in.ndjson'), `${value}\n`)], { cwd: dir });

    expect(await treeOf(outside), 'entries in the directory the link points at').toEqual(['keep.txt']);
    expect(await readFile(join(outside, 'keep.txt'), 'utf8')).toBe('untouched');
    expectOnlyBwriteLines(run.stderr, describeRun(args, run));
    const got = await getValue(store, 'fanout');
    if (summary.written === 1) expect(got.stdout).toBe(`${value}\n`);
    else expect((await failuresOf(summary, dir)).map((f) => f.key)).toEqual(['fanout']);
  });
});

describe('a blob path comes only from a validated 64-hex digest, also when read back from the index', () => {
  it('an index row whose digest was edited to ../outside/secret makes get fail and verify exit 1, never reading outside the store', async () => {
    const { dir, store, outside } = await storeAndOutside();
    await importOk(store, ['--inline-max', '0', await writeText(join(dir, 'in.ndjson'), '{"id":"k","n":1}\n')]);
    await writeText(join(outside, 'secret'), 'outside the store\n');
    const db = new Database(join(store, 'index.db'));
    try {
      db.prepare('UPDATE items SET sha256 = ? WHERE key = ?').run('../outside/secret', 'k');
    } finally {
      db.close();
    }

    const got = await getValue(store, 'k');
    const verify = await runBwrite(['verify', '--store', store]);

    expect(got.stdout).not.toContain('outside the store');
    expect(got.code).not.toBe(0);
    expectOnlyBwriteLines(got.stderr);
    expect(verify.code, describeRun(['verify'], verify)).toBe(1);
    expect(verify.stdout + verify.stderr).not.toContain('outside the store');
  });
});
