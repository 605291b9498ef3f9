import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { gzip, linesOf, ndjson, runBwrite, sleep, startBwrite, tempDir } from '../helpers/cli.js';
import { describeRun, exportMap, importJson, parseSummary, statsJson } from '../helpers/store.js';
import { expectAccountedFor, expectOnlyBwriteLines, pad, waitUntil } from '../helpers/robustness.js';

// Records long enough that 300 of them pass the 4 KiB a fingerprint covers at most.
const record = (prefix: string) => (i: number) => ({ id: `${prefix}${pad(i, 4)}`, n: i, note: `${prefix}-record-number-${i}` });
const feed = (n: number, prefix = 'a') => ndjson(n, record(prefix));
const resumeArgs = (name = 'feed') => ['--resume', '--source-name', name, '-'];

/** `import --resume --source-name NAME -` fed `input`, insisting on exit 0. */
async function resumeStdin(store: string, input: string | Buffer, extra: string[] = []) {
  const result = await importJson(store, [...extra, ...resumeArgs()], { input });
  expect(result.run.code, describeRun(result.args, result.run)).toBe(0);
  expectAccountedFor(result.summary);
  return result;
}

const restartNotice = 'bwrite: feed: standard input does not start with what an earlier run under this --source-name committed; importing it from the start';

async function exportedCount(store: string): Promise<number> {
  const run = await runBwrite(['export', '--store', store]);
  return run.code === 0 ? linesOf(run.stdout).length : 0;
}

describe('--resume on standard input skips what an earlier run committed only when the stream starts with the same bytes', () => {
  it('a different stream under the same --source-name is imported whole, with one line saying so', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, '{"id":"a1"}\n{"id":"a2"}\n{"id":"a3"}\n');

    const { run, summary } = await resumeStdin(store, '{"id":"b1"}\n{"id":"b2"}\n{"id":"b3"}\n{"id":"b4"}\n');

    expect(summary).toMatchObject({ status: 'ok', read: 4, written: 4, skipped: 0, failed: 0 });
    expect([...(await exportMap(store)).keys()]).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'b4']);
    expect(run.stderr).toContain(`${restartNotice}\n`);
    expect(run.stderr.split(restartNotice)).toHaveLength(2);
    expectOnlyBwriteLines(run.stderr);
  });

  it('says nothing of it under --quiet, and still imports the other stream whole', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, feed(5, 'a'));

    const { run, summary } = await resumeStdin(store, feed(5, 'b'), ['--quiet']);

    expect(summary).toMatchObject({ read: 5, written: 5, skipped: 0 });
    expect(run.stderr).toBe('');
  });

  it('a stream that grew past the first 4 KiB resumes: only the appended lines are written', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const first = await resumeStdin(store, feed(300), ['-b', '64']);
    expect(first.summary).toMatchObject({ written: 300 });

    const { run, summary } = await resumeStdin(store, feed(340), ['-b', '64']);

    expect(summary).toMatchObject({ status: 'ok', read: 340, skipped: 300, written: 40, failed: 0 });
    expect(run.stderr).not.toContain('importing it from the start');
    const stored = await exportMap(store);
    expect(stored.size).toBe(340);
    expect(stored.get('a0339')).toEqual(record('a')(339));
  });

  it('a feed shorter than 4 KiB resumes when it starts with what was committed, grown or not', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, feed(3));

    const same = await resumeStdin(store, feed(3));
    const grown = await resumeStdin(store, feed(5));

    expect(same.summary).toMatchObject({ read: 3, skipped: 3, written: 0 });
    expect(grown.summary).toMatchObject({ read: 5, skipped: 3, written: 2 });
    expect(same.run.stderr + grown.run.stderr).not.toContain('importing it from the start');
    expect((await exportMap(store)).size).toBe(5);
  });

  it('resumes after a run that left a half-written last line: the fingerprint ends with the committed lines', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const whole = feed(4);
    const cut = whole.slice(0, whole.lastIndexOf('{') + 10);
    const first = await resumeStdin(store, cut);
    expect(first.summary).toMatchObject({ read: 3, written: 3 });

    const { summary } = await resumeStdin(store, feed(6));

    expect(summary).toMatchObject({ read: 6, skipped: 3, written: 3 });
    expect((await exportMap(store)).get('a0003')).toEqual(record('a')(3));
  });

  it('a stream shorter than the prefix that was committed is imported from the start, with the notice', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, feed(3));

    const { run, summary } = await resumeStdin(store, feed(2));

    expect(summary).toMatchObject({ read: 2, skipped: 0, written: 2 });
    expect(run.stderr).toContain(restartNotice);
  });

  it('compares the decompressed bytes: the same feed gzipped and grown resumes, another gzipped stream is imported whole', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, feed(300));

    const grown = await resumeStdin(store, gzip(feed(320)));
    expect(grown.summary).toMatchObject({ read: 320, skipped: 300, written: 20 });

    const other = await resumeStdin(store, gzip(feed(10, 'z')));
    expect(other.summary).toMatchObject({ read: 10, skipped: 0, written: 10 });
    expect(other.run.stderr).toContain(restartNotice);

    // The watermark now describes the z stream: the a feed starts again, gzipped or not.
    const again = await resumeStdin(store, feed(320));
    expect(again.summary).toMatchObject({ read: 320, skipped: 0, written: 320 });
    expect((await exportMap(store)).size).toBe(330);
  });

  it('a gzip stream damaged within the bytes it compares is read as without --resume: what decoded before the damage, then one E_READ', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, feed(300));
    const damaged = gzip(feed(2000)).subarray(0, 300);
    const plain = await importJson(join(dir, 'plain'), ['--source-name', 'feed', '-'], { input: damaged });
    expect(plain.summary.written, 'records decoded before the damage').toBeGreaterThan(0);

    const resumed = await importJson(store, resumeArgs(), { input: damaged });

    expect(resumed.run.code, describeRun(resumed.args, resumed.run)).toBe(1);
    expect(resumed.summary).toMatchObject({ read: plain.summary.read, written: plain.summary.written, skipped: 0, failed: 1 });
    expect(resumed.run.stderr).toContain(restartNotice);
    expect(resumed.run.stderr).toMatch(/^bwrite: feed:\d+: E_READ: /m);
  });

  it('a watermark saved by an older bwrite, which has no fingerprint of the stream, imports it from the start and says why', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, feed(3, 'a'));
    // What bwrite saved for standard input before it fingerprinted it.
    const db = new Database(join(store, 'index.db'));
    db.prepare(`UPDATE sources SET fingerprint = NULL, fingerprint_len = 0 WHERE name = 'stdin:feed'`).run();
    db.close();

    const { run, summary } = await resumeStdin(store, feed(4, 'b'));

    expect(summary).toMatchObject({ read: 4, skipped: 0, written: 4 });
    expect(run.stderr).toContain(
      'bwrite: feed: the earlier runs under this --source-name were by an older bwrite, which kept no fingerprint of standard input to recognise it by; importing it from the start',
    );
    // It saved a fingerprint this time: the next run of the grown stream resumes.
    const next = await resumeStdin(store, feed(6, 'b'));
    expect(next.summary).toMatchObject({ read: 6, skipped: 4, written: 2 });
  });
});

describe('reading ahead to compare waits only where there is something to compare', () => {
  it('a first --resume run of a stream commits records while standard input stays open', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--json', ...resumeArgs()];
    const running = startBwrite(args, { keepStdinOpen: true });
    running.child.stdin!.write(feed(3));

    // Far less than 4 KiB and no batch filled: only the idle flush stores these while stdin is open.
    await waitUntil(async () => (await exportedCount(store)) >= 3, 'the first records to be committed');
    running.child.stdin!.end(feed(4).slice(feed(3).length));
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(parseSummary(args, run)).toMatchObject({ read: 4, written: 4 });
  });

  it('a resumed stream reads ahead only as far as the bytes it compares, then commits new records while standard input stays open', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, feed(3));
    const args = ['import', '--store', store, '--json', ...resumeArgs()];
    const running = startBwrite(args, { keepStdinOpen: true });
    running.child.stdin!.write(feed(5));

    await waitUntil(async () => (await exportedCount(store)) >= 5, 'the two new records to be committed');
    running.child.stdin!.end();
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(parseSummary(args, run)).toMatchObject({ read: 5, skipped: 3, written: 2 });
  });

  it('SIGINT while it waits for the bytes it compares ends the run at once: exit 130, status interrupted, nothing read', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await resumeStdin(store, feed(300));
    const args = ['import', '--store', store, '--json', ...resumeArgs()];
    const running = startBwrite(args, { keepStdinOpen: true });
    // Fewer bytes than the 4 KiB the watermark fingerprinted: bwrite waits for more, or the end.
    running.child.stdin!.write(feed(10));
    await waitUntil(async () => (await statsJson(store)).runs.length === 2, 'the run to be registered');
    await sleep(400);

    running.child.kill('SIGINT');
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(130);
    expect(parseSummary(args, run)).toMatchObject({ status: 'interrupted', read: 0, written: 0 });
  });
});
