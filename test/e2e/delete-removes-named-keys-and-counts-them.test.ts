import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBwrite, startBwrite, tempDir, writeText, type RunOptions, type RunResult } from '../helpers/cli.js';
import { blobFiles, describeRun, expectErrorLine, exportMap, getValue, importOk, statsJson } from '../helpers/store.js';
import { expectVerifies, waitUntil } from '../helpers/robustness.js';

interface DeleteSummary {
  status: string;
  runId: string | null;
  dryRun: boolean;
  asked: number;
  deleted: number;
  absent: number;
  bytes: number;
  absentKeys: string[];
}

async function deleteJson(store: string, args: string[], opts: RunOptions = {}): Promise<{ run: RunResult; summary: DeleteSummary; args: string[] }> {
  const full = ['delete', '--store', store, '--json', ...args];
  const run = await runBwrite(full, opts);
  let summary: DeleteSummary;
  try {
    summary = JSON.parse(run.stdout) as DeleteSummary;
  } catch {
    throw new Error(`stdout is not one JSON object\n${describeRun(full, run)}`);
  }
  return { run, summary, args: full };
}

/** A store holding `keys`, each value `{"id": key, "n": i}`. */
async function storeWith(dir: string, keys: string[], extra: string[] = []): Promise<string> {
  const store = join(dir, 'store');
  await importOk(store, [...extra, await writeText(join(dir, 'in.ndjson'), keys.map((id, n) => JSON.stringify({ id, n })).join('\n') + '\n')]);
  return store;
}

/** What `stats` should say of the items a store holds, counted from `export`. */
async function countedFromExport(store: string): Promise<{ items: number; bytes: number }> {
  const values = [...(await exportMap(store)).values()];
  return { items: values.length, bytes: values.reduce((sum: number, value) => sum + Buffer.byteLength(JSON.stringify(value)), 0) };
}

async function expectExactTotals(store: string): Promise<void> {
  const stats = await statsJson(store);
  const counted = await countedFromExport(store);
  expect({ items: stats.items, bytes: stats.bytes }).toEqual(counted);
  expect(stats.byType).toEqual(counted.items === 0 ? {} : { json: counted });
  await expectVerifies(store, 'after delete');
}

describe('bwrite delete', () => {
  it('deletes the named keys, keeps every other, and exits 0; their blobs are garbage for gc', async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['k1', 'k2', 'k3', 'k4'], ['--inline-max', '0']);

    const { run, summary, args } = await deleteJson(store, ['k1', 'k3']);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', dryRun: false, asked: 2, deleted: 2, absent: 0, absentKeys: [] });
    expect(summary.bytes).toBe(Buffer.byteLength('{"id":"k1","n":0}{"id":"k3","n":2}'));
    expect((await getValue(store, 'k1')).code).toBe(1);
    expect([...(await exportMap(store)).keys()]).toEqual(['k2', 'k4']);
    expect(await blobFiles(store), 'delete itself removes no blob').toHaveLength(4);
    await expectExactTotals(store);

    const newest = Math.max(...(await blobFiles(store)).map((blob) => blob.stat.mtimeMs));
    await waitUntil(() => Date.now() > newest + 200, 'the blobs to be older than a gc started now');
    const gc = await runBwrite(['gc', '--store', store, '--json']);
    expect(JSON.parse(gc.stdout), describeRun(['gc'], gc)).toMatchObject({ removedBlobs: 2 });
    expect(await blobFiles(store)).toHaveLength(2);
    const verify = await runBwrite(['verify', '--store', store, '--json']);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, items: 2, orphanBlobs: 0 });
  });

  it('a named key that is absent exits 1 and says so, and the other keys are deleted', async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a', 'b']);
    const args = ['delete', '--store', store, 'a', 'missing', 'b', 'a'];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(1);
    // Named twice, 'a' is absent the second time, as `rm a a` finds it.
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(["bwrite: no item with key 'missing'", "bwrite: no item with key 'a'"]);
    expect(lines[2]).toMatch(/^bwrite: partial: asked 4, deleted 2, absent 2; /);
    expect(lines).toHaveLength(3);
    expect((await exportMap(store)).size).toBe(0);
    const json = await deleteJson(store, ['gone']);
    expect(json.run.code).toBe(1);
    expect(json.summary).toMatchObject({ status: 'partial', asked: 1, deleted: 0, absent: 1, absentKeys: ['gone'] });
  });

  it('--prefix deletes exactly the keys that start with it, across several batches', async () => {
    const dir = await tempDir();
    const many = Array.from({ length: 4500 }, (_, i) => `user:${String(i).padStart(5, '0')}`);
    const others = ['user', 'users:1', 'user;1', 'usea', 'zz', 'user\u00e9:1'];
    const store = await storeWith(dir, [...others, ...many]);

    const dry = await deleteJson(store, ['--prefix', 'user:', '--dry-run']);
    expect(dry.run.code, describeRun(dry.args, dry.run)).toBe(0);
    expect(dry.summary).toMatchObject({ status: 'ok', dryRun: true, runId: null, asked: 4500, deleted: 4500 });
    expect((await exportMap(store)).size, 'a dry run deletes nothing').toBe(4506);

    const { run, summary, args } = await deleteJson(store, ['--prefix', 'user:']);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', asked: 4500, deleted: 4500, absent: 0, bytes: dry.summary.bytes });
    expect([...(await exportMap(store)).keys()]).toEqual([...others].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    await expectExactTotals(store);
    const again = await deleteJson(store, ['--prefix', 'user:']);
    expect(again.run.code, 'a prefix that matches nothing is not an error').toBe(0);
    expect(again.summary).toMatchObject({ asked: 0, deleted: 0 });
  });

  it("refuses --prefix '' and deletes every item only when asked with --all", async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a', 'b', 'c']);
    const args = ['delete', '--store', store, '--prefix', ''];

    const refused = await runBwrite(args);

    expect(refused.code, describeRun(args, refused)).toBe(2);
    expectErrorLine(refused);
    expect(refused.stderr).toContain('--all');
    expect((await exportMap(store)).size).toBe(3);

    const { run, summary } = await deleteJson(store, ['--all']);
    expect(run.code).toBe(0);
    expect(summary).toMatchObject({ asked: 3, deleted: 3 });
    expect((await exportMap(store)).size).toBe(0);
    await expectExactTotals(store);
  });

  it('--from reads one key a line: CRLF ends, blank lines, a last line without its end, a byte-order mark', async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a', 'b', 'c d', 'e', 'keep']);
    const list = await writeText(join(dir, 'keys.txt'), '\ufeffa\r\n\r\nb\n\nc d\r\ne');

    const { run, summary, args } = await deleteJson(store, ['--from', list]);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ asked: 4, deleted: 4, absent: 0 });
    expect([...(await exportMap(store)).keys()]).toEqual(['keep']);
  });

  it("--from - reads standard input; a line that cannot be a key is named with its line and counted absent", async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a', 'b']);
    const input = `a\n${'x'.repeat(1025)}\nb\n`;
    const args = ['delete', '--store', store, '--from', '-'];

    const run = await runBwrite(args, { input });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(run.stderr).toContain('bwrite: -:2: not a key: the line is 1025 bytes long');
    expect(run.stderr).toMatch(/partial: asked 3, deleted 2, absent 1;/);
    expect((await exportMap(store)).size).toBe(0);
  });

  it('--dry-run says what would be deleted and changes nothing, not even the run history', async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a', 'b']);
    const before = await statsJson(store);

    const { run, summary, args } = await deleteJson(store, ['a', 'nope', '--dry-run']);

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ status: 'partial', dryRun: true, runId: null, asked: 2, deleted: 1, absent: 1, absentKeys: ['nope'] });
    expect(run.stderr).toMatch(/partial \(dry run\): asked 2, would delete 1, absent 1/);
    expect((await exportMap(store)).size).toBe(2);
    expect((await statsJson(store)).runs).toEqual(before.runs);
  });

  it('a delete is a run in the history, with what it was asked, deleted and found absent', async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a', 'b', 'c']);

    const { summary } = await deleteJson(store, ['a', 'b', 'nope']);

    const [run] = (await statsJson(store)).runs;
    expect(run).toMatchObject({ runId: summary.runId, command: 'delete', status: 'partial', read: 3, written: 0, skipped: 1, failed: 0, deleted: 2 });
    const text = await runBwrite(['stats', '--store', store]);
    expect(text.stdout).toMatch(new RegExp(`${summary.runId} +delete .* partial +3 +0 +1 +0 +2 `));
  });

  it("a delete is not an import's success: the last-success gauges still date the last import that stored every record", async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a', 'b']);
    const bad = await writeText(join(dir, 'bad.ndjson'), '{"no":"id"}\n');
    expect((await runBwrite(['import', '--store', store, bad])).code).toBe(1);
    const metrics = join(dir, 'bwrite.prom');

    expect((await deleteJson(store, ['a'])).run.code).toBe(0);

    const [deleted, failed, imported] = (await statsJson(store)).runs;
    expect([deleted!.command, failed!.status, imported!.status]).toEqual(['delete', 'partial', 'ok']);
    const lastSuccess = `bwrite_last_success_timestamp_seconds ${Date.parse(String(imported!.finishedAt)) / 1000}\n`;
    expect((await runBwrite(['stats', '--store', store, '--prometheus'])).stdout).toContain(lastSuccess);
    expect((await runBwrite(['import', '--store', store, '--metrics-file', metrics, bad])).code).toBe(1);
    expect(await readFile(metrics, 'utf8')).toContain(lastSuccess);
  });

  it('SIGTERM stops a delete waiting for its key list: exit 143, status interrupted, the batches not committed left alone', async () => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a', 'b']);
    const deleting = startBwrite(['delete', '--store', store, '--json', '--from', '-'], { keepStdinOpen: true });
    deleting.child.stdin!.write('a\n');
    await waitUntil(async () => (await statsJson(store)).runs[0]?.status === 'running', 'the delete to register its run');

    deleting.child.kill('SIGTERM');
    const run = await deleting.result;

    expect(run.code, describeRun(['delete', '--from', '-'], run)).toBe(143);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'interrupted', deleted: 0 });
    expect((await statsJson(store)).runs[0]).toMatchObject({ command: 'delete', status: 'interrupted' });
    expect([...(await exportMap(store)).keys()]).toEqual(['a', 'b']);
  }, 60_000);

  it.each([
    ['nothing to delete', [] as string[], 'name what to delete'],
    ['keys and a prefix at once', ['a', '--prefix', 'a'], 'cannot be combined'],
    ['--from and --all at once', ['--from', '-', '--all'], 'cannot be combined'],
    ['an empty key', [''], 'is not a key'],
    ['a key list that does not exist', ['--from', '/nonexistent/keys.txt'], 'no such file'],
  ])('a bad invocation (%s) exits 2 with one line and deletes nothing', async (_what, extra, message) => {
    const dir = await tempDir();
    const store = await storeWith(dir, ['a']);
    const args = ['delete', '--store', store, ...extra];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toContain(message);
    expect((await exportMap(store)).size).toBe(1);
  });

  it('a store that does not exist, or is not a store, exits 3 and is not created', async () => {
    const dir = await tempDir();
    for (const store of [join(dir, 'none'), await writeText(join(dir, 'file'), 'not a store')]) {
      const args = ['delete', '--store', store, 'a'];
      const run = await runBwrite(args);
      expect(run.code, describeRun(args, run)).toBe(3);
      expectErrorLine(run);
    }
    expect((await runBwrite(['stats', '--store', join(dir, 'none')])).code).toBe(3);
  });

  it("commits between an import's batches: a key the import writes after the delete is stored again", async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const importing = startBwrite(['import', '--store', store, '--json', '--batch-size', '1', '-'], { keepStdinOpen: true });
    importing.child.stdin!.write('{"id":"a","v":1}\n{"id":"b","v":1}\n');
    await waitUntil(async () => (await getValue(store, 'b')).code === 0, 'the import to commit its first records');

    const { run, summary } = await deleteJson(store, ['a', 'b']);
    expect(run.code, describeRun(['delete'], run)).toBe(0);
    expect(summary).toMatchObject({ deleted: 2 });
    expect((await getValue(store, 'a')).code, 'deleted while the import still runs').toBe(1);

    importing.child.stdin!.end('{"id":"a","v":2}\n');
    const imported = await importing.result;
    expect(imported.code, describeRun(['import'], imported)).toBe(0);
    expect(await exportMap(store)).toEqual(new Map([['a', { id: 'a', v: 2 }]]));
    await expectExactTotals(store);
    const runs = (await statsJson(store)).runs.map(({ command, status, written, deleted }) => ({ command, status, written, deleted }));
    expect(runs, 'latest started first').toEqual([
      { command: 'delete', status: 'ok', written: 0, deleted: 2 },
      { command: 'import', status: 'ok', written: 3, deleted: 0 },
    ]);
  }, 60_000);
});
