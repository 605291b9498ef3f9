import { lstat, symlink, truncate, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { blobFiles, describeRun, getValue, importOk, sha256, statsJson } from '../helpers/store.js';

// gc and verify read the items in digest order beside the blob files listed in the same order;
// these stores put missing, damaged, unreferenced and shared blobs where such a walk could slip.

/** `{"key":KEY,"n":…}`, the first such record whose SHA-256 starts with `prefix`. */
function recordWithDigest(key: string, prefix: string): string {
  for (let n = 0; ; n++) {
    const line = JSON.stringify({ key, n });
    if (sha256(line).startsWith(prefix)) return line;
  }
}

function blobOf(store: string, line: string): string {
  const digest = sha256(line);
  return join(store, 'blobs', digest.slice(0, 2), digest);
}

/** Imports `lines` (each with a "key" field) into `store`, every value in a blob file. */
async function importBlobs(store: string, dir: string, name: string, lines: string[], extra: string[] = []): Promise<void> {
  await importOk(store, ['--inline-max', '0', '--key', 'key', ...extra, await writeText(join(dir, name), lines.map((line) => `${line}\n`).join(''))]);
}

/** Blob files made well before now, so that gc judges them by references alone. */
async function backdateBlobs(store: string): Promise<void> {
  const old = new Date(Date.now() - 30 * 24 * 3600 * 1000);
  for (const blob of await blobFiles(store)) await utimes(blob.path, old, old);
}

async function run(args: string[]): Promise<{ code: number | null; lines: string[] }> {
  const result = await runBwrite(args);
  expect(result.stderr, describeRun(args, result)).not.toMatch(/^\s+at /m);
  return { code: result.code, lines: linesOf(result.stdout) };
}

const names = (files: { rel: string }[]) => files.map((file) => file.rel).sort();

describe('verify finds each damaged blob among many, once, by key', () => {
  it('a missing blob and a blob of the wrong size among 300 are each one problem naming its key', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ key: `k${String(i).padStart(3, '0')}`, v: i }));
    await importBlobs(store, dir, 'in.ndjson', lines);
    await unlink(blobOf(store, lines[150]!));
    await truncate(blobOf(store, lines[200]!), 3);

    const verify = await run(['verify', '--store', store]);
    const gc = await run(['gc', '--store', store]);

    expect(verify.code).toBe(1);
    expect(verify.lines).toEqual([
      `problem: key 'k150': blob ${sha256(lines[150]!)} is missing`,
      `problem: key 'k200': blob ${sha256(lines[200]!)} is 3 bytes, recorded ${Buffer.byteLength(lines[200]!)}`,
      '2 problems: 300 items checked, 299 blob files, 0 unreferenced (0 B), 0 temporary files',
    ]);
    expect(gc.lines).toEqual(['removed 0 blobs and 0 temporary files, 0 B']);
    expect(await blobFiles(store)).toHaveLength(299);
  });

  it('a link in place of a referenced blob is not a regular file, and a stray; gc leaves it alone', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const lines = ['{"key":"a"}', '{"key":"b"}', '{"key":"c"}'];
    await importBlobs(store, dir, 'in.ndjson', lines);
    const linked = blobOf(store, lines[1]!);
    const target = await writeText(join(dir, 'outside.json'), lines[1]!);
    await unlink(linked);
    await symlink(target, linked);
    await backdateBlobs(store);

    const verify = await run(['verify', '--store', store]);
    const gc = await run(['gc', '--store', store]);

    expect(verify.code).toBe(1);
    expect(verify.lines).toEqual([
      `problem: key 'b': blob ${sha256(lines[1]!)} is not a regular file`,
      `problem: ${linked}: a link, not a blob`,
      '2 problems: 3 items checked, 2 blob files, 0 unreferenced (0 B), 0 temporary files',
    ]);
    expect(gc.lines).toEqual(['removed 0 blobs and 0 temporary files, 0 B']);
    expect((await lstat(linked)).isSymbolicLink()).toBe(true);
  });

  it('a store with more than 1,000 problems lists the first 1,000 and counts the rest', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const lines = Array.from({ length: 1005 }, (_, i) => JSON.stringify({ key: `k${String(i).padStart(4, '0')}` }));
    await importBlobs(store, dir, 'in.ndjson', lines);
    for (const blob of await blobFiles(store)) await unlink(blob.path);

    const human = await run(['verify', '--store', store]);
    const json = await runBwrite(['verify', '--json', '--store', store]);

    expect(human.code).toBe(1);
    const listed = human.lines.slice(0, 1000);
    expect(listed.every((line) => /^problem: key 'k\d{4}': blob [0-9a-f]{64} is missing$/.test(line))).toBe(true);
    expect(new Set(listed).size).toBe(1000);
    expect(human.lines.slice(1000)).toEqual(['problem: … and 5 more', '1,005 problems: 1,005 items checked, 0 blob files, 0 unreferenced (0 B), 0 temporary files']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; items: number; problems: unknown[]; moreProblems: number };
    expect(report).toMatchObject({ ok: false, items: 1005, moreProblems: 5 });
    expect(report.problems).toHaveLength(1000);
  });
});

describe('gc removes exactly the blobs nothing refers to, wherever they sit in digest order', () => {
  it('an unreferenced blob between two referenced ones in the same fan-out directory goes; they stay', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // Three records whose digests share their first two hex digits, in digest order.
    const byFan = new Map<string, string[]>();
    let trio: string[] | undefined;
    for (let n = 0; !trio; n++) {
      const line = JSON.stringify({ key: `k${n}`, n });
      const fan = byFan.get(sha256(line).slice(0, 2)) ?? [];
      byFan.set(sha256(line).slice(0, 2), [...fan, line]);
      if (fan.length === 2) trio = [...fan, line].sort((a, b) => (sha256(a) < sha256(b) ? -1 : 1));
    }
    const [low, middle, high] = trio as [string, string, string];
    await importBlobs(store, dir, 'trio.ndjson', [low, middle, high]);
    // The middle record's key gets another value: its blob is referenced no more.
    const middleKey = (JSON.parse(middle) as { key: string }).key;
    const replacement = JSON.stringify({ key: middleKey, replaced: true });
    await importBlobs(store, dir, 'replace.ndjson', [replacement]);
    await backdateBlobs(store);

    const before = await run(['verify', '--store', store]);
    const gc = await run(['gc', '--store', store]);
    const after = await run(['verify', '--deep', '--store', store]);

    expect(before.lines).toEqual([`ok: 3 items checked, 4 blob files, 1 unreferenced (${Buffer.byteLength(middle)} B), 0 temporary files`]);
    expect(gc.lines).toEqual([`removed 1 blob and 0 temporary files, ${Buffer.byteLength(middle)} B`]);
    expect(names(await blobFiles(store))).toEqual([low, replacement, high].map((line) => `${sha256(line).slice(0, 2)}/${sha256(line)}`).sort());
    expect(after.lines).toEqual(['ok: 3 items checked (deep), 3 blob files, 0 unreferenced (0 B), 0 temporary files']);
  });

  it('blobs whose digests start with 00 and ff are kept while referenced, removed when not, and reported when missing', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const first = recordWithDigest('first', '00');
    const last = recordWithDigest('last', 'ff');
    const firstGone = recordWithDigest('gone-first', '00');
    const lastGone = recordWithDigest('gone-last', 'ff');
    await importBlobs(store, dir, 'ends.ndjson', [first, last, firstGone, lastGone]);
    await importBlobs(store, dir, 'replace.ndjson', [JSON.stringify({ key: 'gone-first', v: 2 }), JSON.stringify({ key: 'gone-last', v: 2 })]);
    await backdateBlobs(store);

    const gc = await run(['gc', '--store', store]);
    const left = names(await blobFiles(store));
    const clean = await run(['verify', '--store', store]);
    await unlink(blobOf(store, first));
    await unlink(blobOf(store, last));
    const broken = await run(['verify', '--store', store]);

    expect(gc.lines).toEqual([`removed 2 blobs and 0 temporary files, ${Buffer.byteLength(firstGone) + Buffer.byteLength(lastGone)} B`]);
    expect(left).toContain(`00/${sha256(first)}`);
    expect(left).toContain(`ff/${sha256(last)}`);
    expect(left).not.toContain(`00/${sha256(firstGone)}`);
    expect(left).not.toContain(`ff/${sha256(lastGone)}`);
    expect(clean.lines).toEqual(['ok: 4 items checked, 4 blob files, 0 unreferenced (0 B), 0 temporary files']);
    expect(broken.code).toBe(1);
    expect(broken.lines).toEqual([
      `problem: key 'first': blob ${sha256(first)} is missing`,
      `problem: key 'last': blob ${sha256(last)} is missing`,
      '2 problems: 4 items checked, 2 blob files, 0 unreferenced (0 B), 0 temporary files',
    ]);
  });

  it('gc with nothing to collect removes and touches no blob', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // Values in blobs (two keys share one), and small ones kept inline.
    const shared = '{"shared":true}';
    await importOk(store, ['--inline-max', '0', '--key', 'b{$line}', await writeText(join(dir, 'blobs.ndjson'), `${shared}\n{"v":1}\n${shared}\n{"v":2}\n`)]);
    await importOk(store, ['--key', 'i{$line}', await writeText(join(dir, 'inline.ndjson'), '{"w":1}\n{"w":2}\n')]);
    await backdateBlobs(store);
    const before = (await blobFiles(store)).map((file) => `${file.rel} ${file.stat.mtimeMs}`).sort();

    const gc = await run(['gc', '--store', store]);

    expect(gc.lines).toEqual(['removed 0 blobs and 0 temporary files, 0 B']);
    expect((await blobFiles(store)).map((file) => `${file.rel} ${file.stat.mtimeMs}`).sort()).toEqual(before);
    expect(before).toHaveLength(3);
    expect((await run(['verify', '--deep', '--store', store])).lines).toEqual(['ok: 6 items checked (deep), 3 blob files, 0 unreferenced (0 B), 0 temporary files']);
  });
});

describe('a value kept inline under one key and in a blob under another', () => {
  it('is one referenced blob file for verify and gc, and a blob for stats; once only the inline copy is referenced, its blob is garbage', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const shared = '{"same":"value"}';
    const onlyInline = '{"only":"inline"}';
    const onlyBlob = '{"only":"blob"}';
    // Key a1 keeps `shared` inline, b1 in a blob; a2 and a3 share an inline value; b2 has its own blob.
    await importOk(store, ['--key', 'a{$line}', await writeText(join(dir, 'a.ndjson'), `${shared}\n${onlyInline}\n${onlyInline}\n`)]);
    await importOk(store, ['--inline-max', '0', '--key', 'b{$line}', await writeText(join(dir, 'b.ndjson'), `${shared}\n${onlyBlob}\n`)]);
    await backdateBlobs(store);
    const bytes = (...lines: string[]) => lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);

    const verify = await run(['verify', '--store', store]);
    const afterVerify = await statsJson(store);
    const gc = await run(['gc', '--store', store]);
    const afterGc = await statsJson(store);

    expect(verify.lines).toEqual(['ok: 5 items checked, 2 blob files, 0 unreferenced (0 B), 0 temporary files']);
    expect(gc.lines).toEqual(['removed 0 blobs and 0 temporary files, 0 B']);
    for (const stats of [afterVerify, afterGc]) {
      expect(stats).toMatchObject({ items: 5, blobs: 2, inlineValues: 1, storedBytes: bytes(shared, onlyInline, onlyBlob) });
    }

    // b1 gets another value: `shared` is now only inline (a1), and its blob file is unreferenced.
    await importOk(store, ['--inline-max', '0', '--key', 'b{$line}', await writeText(join(dir, 'b2.ndjson'), '{"other":1}\n')]);
    await backdateBlobs(store);
    const orphaned = await run(['verify', '--store', store]);
    const collected = await run(['gc', '--store', store]);

    expect(orphaned.lines).toEqual([`ok: 5 items checked, 3 blob files, 1 unreferenced (${bytes(shared)} B), 0 temporary files`]);
    expect(collected.lines).toEqual([`removed 1 blob and 0 temporary files, ${bytes(shared)} B`]);
    expect(names(await blobFiles(store))).not.toContain(`${sha256(shared).slice(0, 2)}/${sha256(shared)}`);
    expect((await getValue(store, 'a1')).stdout).toBe(`${shared}\n`);
    expect(await statsJson(store)).toMatchObject({ items: 5, blobs: 2, inlineValues: 2, storedBytes: bytes(shared, onlyInline, onlyBlob, '{"other":1}') });
    expect((await run(['verify', '--deep', '--store', store])).code).toBe(0);
  });
});

describe('a store where every value is kept inline', () => {
  it('verifies, collects nothing and counts its values', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: `k${i}`, v: i % 10 }));
    await importOk(store, [await writeText(join(dir, 'in.ndjson'), lines.map((line) => `${line}\n`).join(''))]);

    const verify = await run(['verify', '--deep', '--store', store]);
    const gc = await run(['gc', '--store', store]);

    expect(verify.lines).toEqual(['ok: 50 items checked (deep), 0 blob files, 0 unreferenced (0 B), 0 temporary files']);
    expect(gc.lines).toEqual(['removed 0 blobs and 0 temporary files, 0 B']);
    expect(await blobFiles(store)).toEqual([]);
    expect(await statsJson(store)).toMatchObject({ items: 50, blobs: 0, inlineValues: 50 });
  });
});
