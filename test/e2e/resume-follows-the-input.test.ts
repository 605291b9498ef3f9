import { appendFile, truncate, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportMap, importJson, importOk } from '../helpers/store.js';
import { expectAccountedFor, expectOnlyBwriteLines, pad } from '../helpers/robustness.js';

// Records big enough that 200 of them pass the first few KiB a fingerprint may cover.
const record = (prefix: string) => (i: number) => ({ id: `${prefix}${pad(i, 4)}`, n: i, note: `${prefix}-record-number-${i}` });

describe('--resume imports only what earlier runs of the same file did not commit', () => {
  it('imports only the lines appended to a growing file: skipped = the old count, written = the new count', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'growing.ndjson'), ndjson(300, record('g')));
    const first = await importOk(store, ['--resume', '-b', '64', file]);
    expect(first).toMatchObject({ read: 300, written: 300, skipped: 0 });

    for (const [round, added] of [
      [1, 120],
      [2, 1],
      [3, 0],
    ] as const) {
      const before = 300 + (round > 1 ? 120 : 0) + (round > 2 ? 1 : 0);
      await appendFile(file, ndjson(added, (i) => record('g')(before + i)));
      const summary = await importOk(store, ['--resume', '-b', '64', file]);
      expect(summary, `round ${round}`).toMatchObject({ status: 'ok', read: before + added, skipped: before, written: added, failed: 0 });
      expectAccountedFor(summary, `round ${round}`);
    }
    const stored = await exportMap(store);
    expect(stored.size).toBe(421);
    expect(stored.get('g0420')).toEqual(record('g')(420));
  });

  it('picks up a file whose last line had no newline yet when the earlier run read it', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'partial.ndjson'), ndjson(50, record('p')) + '{"id":"p0050","n":50}');
    await importOk(store, ['--resume', file]);
    await appendFile(file, '\n' + ndjson(2, (i) => record('p')(51 + i)));

    const summary = await importOk(store, ['--resume', file]);

    expect(summary).toMatchObject({ read: 53, skipped: 51, written: 2, failed: 0 });
    expect((await exportMap(store)).size).toBe(53);
  });

  it('leaves a last line that a writer had only half written for the next run: exit 0, no failure, a notice; the next run imports it whole', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // A cron run reads a log while the application is in the middle of writing its last line.
    const file = await writeText(join(dir, 'live.ndjson'), ndjson(20, record('l')) + '{"id":"l0020","n":20,"no');
    const first = await importJson(store, ['--resume', file]);
    expect(first.run.code, describeRun(first.args, first.run)).toBe(0);
    expect(first.summary).toMatchObject({ status: 'ok', read: 20, written: 20, failed: 0, failuresFile: null });
    expect(first.run.stderr).toContain(`bwrite: ${file}:21: the last line has no line end yet, so it may not be a whole record; left for the next --resume`);
    await appendFile(file, 'te":"l-record-number-20"}\n' + ndjson(1, (i) => record('l')(21 + i)));

    const second = await importJson(store, ['--resume', file]);

    expect(second.run.code, describeRun(second.args, second.run)).toBe(0);
    expect(second.summary).toMatchObject({ read: 22, skipped: 20, written: 2, failed: 0 });
    const stored = await exportMap(store);
    expect(stored.get('l0020'), 'the record completed after the first run read half of it').toEqual(record('l')(20));
    expect(stored.size).toBe(22);
  });

  it('leaves a CSV row with no line end for the next run, though it parses: a writer may have cut it anywhere', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'growing.csv'), 'id,name\n1,alice\n2,bob\n3,ca');
    const first = await importJson(store, ['--resume', file]);
    expect(first.run.code, describeRun(first.args, first.run)).toBe(0);
    expect(first.summary).toMatchObject({ read: 2, written: 2, failed: 0 });
    expect(first.run.stderr).toContain(`${file}:4: the last line has no line end yet`);
    await appendFile(file, 'rol\n4,dan\n');

    const second = await importOk(store, ['--resume', file]);

    expect(second).toMatchObject({ read: 4, skipped: 2, written: 2 });
    expect([...(await exportMap(store)).values()]).toEqual([
      { id: '1', name: 'alice' },
      { id: '2', name: 'bob' },
      { id: '3', name: 'carol' },
      { id: '4', name: 'dan' },
    ]);
  });

  it('without --resume, a last line with no line end that does not parse fails like any bad record', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'cut.ndjson'), ndjson(3, record('c')) + '{"id":"c0003","n":');
    const { run, summary, args } = await importJson(join(dir, 'store'), [file]);
    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ status: 'partial', read: 4, written: 3, failed: 1 });
    expect(run.stderr).toContain(`${file}:4: E_PARSE`);
  });

  it('imports a file whose first bytes changed from the start, even when it is as long as before', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'replaced.ndjson'), ndjson(300, record('a')));
    await importOk(store, ['--resume', file]);
    // Same length, different content: a new export written over the old one.
    const replacement = ndjson(300, record('b'));
    expect(replacement.length).toBe(ndjson(300, record('a')).length);
    await writeFile(file, replacement);

    const summary = await importOk(store, ['--resume', file]);

    expect(summary).toMatchObject({ read: 300, skipped: 0, written: 300, failed: 0 });
    const stored = await exportMap(store);
    expect(stored.size).toBe(600);
    expect(stored.get('b0000')).toEqual(record('b')(0));
  });

  it('imports from the start a file replaced by rename with different first bytes (log rotation)', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'app.ndjson'), ndjson(200, record('old')));
    await importOk(store, ['--resume', file]);
    await rename(file, join(dir, 'app.ndjson.1'));
    await writeText(file, ndjson(30, record('new')));

    const summary = await importOk(store, ['--resume', file]);

    expect(summary).toMatchObject({ read: 30, skipped: 0, written: 30 });
    expect((await exportMap(store)).get('new0029')).toEqual(record('new')(29));
  });

  it('imports from the start a file truncated to a few bytes and rewritten', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'cut.ndjson'), ndjson(300, record('t')));
    await importOk(store, ['--resume', file]);
    await truncate(file, 0);
    await appendFile(file, ndjson(5, record('u')));

    const summary = await importOk(store, ['--resume', file]);

    expect(summary).toMatchObject({ read: 5, skipped: 0, written: 5 });
    expect((await exportMap(store)).has('u0004')).toBe(true);
  });

  it('does not skip new lines of a file that shrank, even when it kept its first bytes', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const original = ndjson(1000, record('s'));
    const file = await writeText(join(dir, 'shrunk.ndjson'), original);
    await importOk(store, ['--resume', file]);
    // Cut back to its first 300 records (far past any fingerprint), then 200 new records arrive:
    // 500 lines, fewer than the 1000 the watermark remembers.
    const kept = ndjson(300, record('s'));
    await truncate(file, Buffer.byteLength(kept));
    await appendFile(file, ndjson(200, record('fresh')));

    const summary = await importOk(store, ['--resume', file]);

    expectAccountedFor(summary);
    expect(summary.read).toBe(500);
    const stored = await exportMap(store);
    for (let i = 0; i < 200; i++) expect(stored.get(`fresh${pad(i, 4)}`), `fresh${pad(i, 4)} stored`).toEqual(record('fresh')(i));
  });

  it('keeps separate watermarks for two files imported in one run', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const a = await writeText(join(dir, 'a.ndjson'), ndjson(40, record('a')));
    const b = await writeText(join(dir, 'b.ndjson'), ndjson(60, record('b')));
    await importOk(store, ['--resume', '-b', '7', a, b]);
    await appendFile(b, ndjson(3, (i) => record('b')(60 + i)));

    const summary = await importOk(store, ['--resume', '-b', '7', a, b]);

    expect(summary).toMatchObject({ read: 103, skipped: 100, written: 3 });
  });
});

describe('--resume on standard input', () => {
  it('is a usage error without --source-name: exit 2, one error line, nothing read', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--resume', '-'];

    const run = await runBwrite(args, { input: ndjson(3, record('x')) });

    expect(run.code, describeRun(args, run)).toBe(2);
    expect(run.stderr).toMatch(/^bwrite: error: .*--source-name/);
    expectOnlyBwriteLines(run.stderr);
    expect(run.stdout).toBe('');
  });

  it('with --source-name, a second run of the grown stream imports only the new records', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const stream = (n: number) => ndjson(n, record('feed'));

    const first = await importJson(store, ['--resume', '--source-name', 'feed', '-b', '16', '-'], { input: stream(100) });
    expect(first.run.code, describeRun(first.args, first.run)).toBe(0);
    const second = await importJson(store, ['--resume', '--source-name', 'feed', '-b', '16', '-'], { input: stream(130) });

    expect(second.run.code, describeRun(second.args, second.run)).toBe(0);
    expect(second.summary).toMatchObject({ read: 130, skipped: 100, written: 30, failed: 0 });
    expect((await exportMap(store)).size).toBe(130);
  });

  it('keeps one watermark per --source-name: another name starts from the beginning', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const input = ndjson(20, record('n'));
    await importOk(store, ['--resume', '--source-name', 'one', '-'], { input });

    const other = await importOk(store, ['--resume', '--source-name', 'two', '-'], { input });

    expect(other).toMatchObject({ read: 20, skipped: 0, written: 20 });
  });
});
