import { readFile, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, linesOf, ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { blobFiles, describeRun, exportLines, getValue, importJson, importOk, sha256, statsJson } from '../helpers/store.js';

describe('stats reports what the store holds and how runs went', () => {
  it('counts items, blobs, bytes and de-duplicated storedBytes', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // 12 keys, 4 distinct values.
    const text = ndjson(12, (i) => ({ kind: `k${i % 4}`, payload: 'p'.repeat(10 * (i % 4)) }));
    const file = await writeText(join(dir, 'in.ndjson'), text);
    const lines = linesOf(text);

    await importOk(store, ['--inline-max', '0', '--key', 'n{$line}', file]);

    const stats = await statsJson(store);
    expect(stats.items).toBe(12);
    expect(stats.blobs).toBe(4);
    expect(stats.bytes).toBe(lines.reduce((sum, l) => sum + Buffer.byteLength(l), 0));
    expect(stats.storedBytes).toBe([...new Set(lines)].reduce((sum, l) => sum + Buffer.byteLength(l), 0));
    expect(stats.byType).toHaveProperty('json');
  });

  it('keeps --type in byType', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importOk(store, [fixture('people.ndjson')]);
    await importOk(store, ['--type', 'person-csv', '--key', 'csv:{id}', fixture('people.csv')]);

    const stats = await statsJson(store);

    expect(stats.items).toBe(40);
    expect(Object.keys(stats.byType as object).sort()).toEqual(['json', 'person-csv']);
  });

  it('lists runs latest first, each with its counts', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const first = await importJson(store, [fixture('people.ndjson')]);
    const second = await importJson(store, [fixture('malformed.ndjson')]);

    const stats = await statsJson(store);

    expect(stats.runs.length).toBe(2);
    const [latest, earlier] = stats.runs as [Record<string, unknown>, Record<string, unknown>];
    expect(latest).toMatchObject({ runId: second.summary.runId, status: 'partial', read: second.summary.read, written: 6, skipped: 0, failed: 5, retries: 0 });
    expect(earlier).toMatchObject({ runId: first.summary.runId, status: 'ok', read: 20, written: 20, skipped: 0, failed: 0, retries: 0 });
    // The same times, in the same form, as each import's own --json summary.
    expect(earlier).toMatchObject({ startedAt: first.summary.startedAt, finishedAt: first.summary.finishedAt });
    for (const run of stats.runs) {
      expect(run.startedAt).toBeTruthy();
      expect(run.finishedAt).toBeTruthy();
      expect(new Date(run.startedAt as string).getTime()).toBeLessThanOrEqual(new Date(run.finishedAt as string).getTime());
    }
    expect(new Date(earlier.finishedAt as string).getTime()).toBeLessThanOrEqual(new Date(latest.startedAt as string).getTime());
  });

  it('prints a human summary without --json', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importOk(store, [fixture('people.ndjson')]);
    const args = ['stats', '--store', store];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(run.stdout.trim().length).toBeGreaterThan(0);
    expect(run.stdout).toContain('20');
  });
});

/** A store of the 20 people, every value in a blob; returns the blob of p01. */
async function peopleInBlobs(dir: string): Promise<{ store: string; blob: string }> {
  const store = join(dir, 'store');
  await importOk(store, ['--inline-max', '0', fixture('people.ndjson')]);
  const p01 = `${linesOf(await readFile(fixture('people.ndjson'), 'utf8'))[0]}`;
  const hash = sha256(p01);
  return { store, blob: join(store, 'blobs', hash.slice(0, 2), hash) };
}

describe('verify checks every index row against its value', () => {
  it('exits 0 on a freshly imported store, shallow and deep', async () => {
    const dir = await tempDir();
    const { store } = await peopleInBlobs(dir);

    for (const args of [['verify'], ['verify', '--deep'], ['verify', '--json']]) {
      const run = await runBwrite([...args, '--store', store]);
      expect(run.code, describeRun(args, run)).toBe(0);
    }
  });

  it('exits 1 and names the problem when a blob file is deleted', async () => {
    const dir = await tempDir();
    const { store, blob } = await peopleInBlobs(dir);
    await unlink(blob);

    const run = await runBwrite(['verify', '--store', store]);

    expect(run.code, describeRun(['verify'], run)).toBe(1);
    const output = run.stdout + run.stderr;
    expect(output.includes('p01') || output.includes(blob.slice(-64))).toBe(true);
  });

  it('exits 1 when a blob file is truncated', async () => {
    const dir = await tempDir();
    const { store, blob } = await peopleInBlobs(dir);
    await truncate(blob, 10);

    const run = await runBwrite(['verify', '--store', store]);

    expect(run.code, describeRun(['verify'], run)).toBe(1);
  });

  it('verify --deep exits 1 when a blob keeps its size but its bytes change', async () => {
    const dir = await tempDir();
    const { store, blob } = await peopleInBlobs(dir);
    const bytes = await readFile(blob);
    await writeFile(blob, Buffer.from(bytes.toString('utf8').replace('Ada', 'Eve')));
    expect((await readFile(blob)).length).toBe(bytes.length);

    const run = await runBwrite(['verify', '--deep', '--store', store]);

    expect(run.code, describeRun(['verify', '--deep'], run)).toBe(1);
  });

  it('verify --json prints one JSON document', async () => {
    const dir = await tempDir();
    const { store, blob } = await peopleInBlobs(dir);
    await unlink(blob);

    const run = await runBwrite(['verify', '--json', '--store', store]);

    expect(run.code).toBe(1);
    expect(() => JSON.parse(run.stdout) as unknown).not.toThrow();
  });
});

describe('gc frees the blobs that nothing refers to', () => {
  /** Import 10 keys, then replace all 10 values: 10 blobs become unreferenced. */
  async function storeWithGarbage(dir: string): Promise<string> {
    const store = join(dir, 'store');
    const v1 = await writeText(join(dir, 'v1.ndjson'), ndjson(10, (i) => ({ id: `g${i}`, version: 1 })));
    const v2 = await writeText(join(dir, 'v2.ndjson'), ndjson(10, (i) => ({ id: `g${i}`, version: 2 })));
    await importOk(store, ['--inline-max', '0', v1]);
    await importOk(store, ['--inline-max', '0', v2]);
    // gc may spare blobs younger than a grace period: age every blob by 30 days, as if gc ran much later.
    const old = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    for (const blob of await blobFiles(store)) await utimes(blob.path, old, old);
    return store;
  }

  it('gc --dry-run removes nothing', async () => {
    const dir = await tempDir();
    const store = await storeWithGarbage(dir);
    expect(await blobFiles(store)).toHaveLength(20);

    const run = await runBwrite(['gc', '--dry-run', '--store', store]);

    expect(run.code, describeRun(['gc', '--dry-run'], run)).toBe(0);
    expect(await blobFiles(store)).toHaveLength(20);
  });

  it('gc removes the 10 replaced blobs, keeps the 10 live ones, and verify still passes', async () => {
    const dir = await tempDir();
    const store = await storeWithGarbage(dir);
    const live = new Set((await exportLines(store)).map((line) => sha256(line)));

    const run = await runBwrite(['gc', '--store', store]);

    expect(run.code, describeRun(['gc'], run)).toBe(0);
    expect(run.stdout.trim().length).toBeGreaterThan(0);
    const left = await blobFiles(store);
    expect(new Set(left.map((b) => b.rel.split('/')[1]))).toEqual(live);
    expect((await exportLines(store)).map((l) => JSON.parse(l) as { version: number }).every((v) => v.version === 2)).toBe(true);
    expect((await getValue(store, 'g3')).code).toBe(0);
    const verify = await runBwrite(['verify', '--deep', '--store', store]);
    expect(verify.code, describeRun(['verify', '--deep'], verify)).toBe(0);
  });

  it('gc keeps a blob still referenced by another key', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // Two keys share one value; replacing one of them must not free the shared blob.
    const v1 = await writeText(join(dir, 'v1.ndjson'), '{"same":true}\n{"same":true}\n');
    await importOk(store, ['--inline-max', '0', '--key', 'k{$line}', v1]);
    const v2 = await writeText(join(dir, 'v2.ndjson'), '{"same":false}\n');
    await importOk(store, ['--inline-max', '0', '--key', 'k{$line}', v2]);
    const old = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    for (const blob of await blobFiles(store)) await utimes(blob.path, old, old);

    const run = await runBwrite(['gc', '--store', store]);

    expect(run.code, describeRun(['gc'], run)).toBe(0);
    expect(await blobFiles(store)).toHaveLength(2);
    expect((await getValue(store, 'k2')).stdout).toBe('{"same":true}\n');
    expect((await runBwrite(['verify', '--deep', '--store', store])).code).toBe(0);
  });
});

describe('counts in verify, gc and stats agree with their nouns', () => {
  it('says 1 item, 1 blob file, 1 problem, 1 temporary file and 1 blob, never "1 problems"', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const first = '{"id":"a"}';
    const second = '{"id":"a","v":2}';
    await importOk(store, ['--inline-max', '0', await writeText(join(dir, 'a.ndjson'), `${first}\n`)]);
    await writeText(join(store, 'tmp', 'leftover.tmp'), 'x');
    const stats = await runBwrite(['stats', '--store', store]);
    const ok = await runBwrite(['verify', '--store', store]);

    // Replacing a's value leaves the first blob unreferenced; then the second blob goes missing.
    await importOk(store, ['--inline-max', '0', await writeText(join(dir, 'b.ndjson'), `${second}\n`)]);
    await unlink(join(store, 'blobs', sha256(second).slice(0, 2), sha256(second)));
    const bad = await runBwrite(['verify', '--store', store]);
    const gc = await runBwrite(['gc', '--store', store, '--dry-run']);

    expect(stats.stdout).toMatch(/^items {8}1 item \(0 inline, 1 in blobs\)$/m);
    expect(stats.stdout).toMatch(/^values {7}1 blob file, 0 inline$/m);
    expect(linesOf(ok.stdout)).toEqual(['ok: 1 item checked, 1 blob file, 0 unreferenced (0 B), 1 temporary file']);
    expect(bad.code, describeRun(['verify'], bad)).toBe(1);
    expect(linesOf(bad.stdout).at(-1)).toBe('1 problem: 1 item checked, 1 blob file, 1 unreferenced (10 B), 1 temporary file');
    expect(linesOf(gc.stdout)[0]).toBe('would remove 1 blob and 1 temporary file, 11 B');
  });
});
