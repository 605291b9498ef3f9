import { readFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, linesOf, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportValues, importJson, readFailures, type Failure } from '../helpers/store.js';

/** A failure carries the parsed record, or the raw text when it could not be parsed. */
function expectRecordOrRaw(failure: Failure, text: string): void {
  if ('record' in failure && failure.record !== undefined) expect(failure.record).toEqual(JSON.parse(text));
  else expect(failure.raw).toBe(text);
}

describe('a bad record fails alone and lands in the failures file', () => {
  /*
   * fixtures/malformed.ndjson, by line:
   *   1 m01 ok          5 [1,2,3]  E_NOT_OBJECT       9 {"name":…} E_KEY_MISSING
   *   2 m02 ok          6 (blank, skipped)            10 m10 ok
   *   3 {"id":"m03","v": E_PARSE  7 m07 ok            11 "just a string" E_NOT_OBJECT
   *   4 m04 ok          8 42       E_NOT_OBJECT       12 m12 ok
   */
  const badLines: Record<number, string> = {
    3: 'E_PARSE',
    5: 'E_NOT_OBJECT',
    8: 'E_NOT_OBJECT',
    9: 'E_KEY_MISSING',
    11: 'E_NOT_OBJECT',
  };

  it('stores the good records of malformed.ndjson and exits 1', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');

    const { run, summary, args } = await importJson(store, [fixture('malformed.ndjson')], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary.status).toBe('partial');
    expect(summary.written).toBe(6);
    expect(summary.failed).toBe(5);
    expect(summary.read).toBe(summary.written + summary.skipped + summary.failed);
    expect(await exportValues(store)).toEqual([
      { id: 'm01', v: 1 },
      { id: 'm02', v: 2 },
      { id: 'm04', v: 4 },
      { id: 'm07', v: 7 },
      { id: 'm10', v: 10 },
      { id: 'm12', v: 12 },
    ]);
  });

  it('writes one failure line per bad record, with source, 1-based line, key, error, code, attempts and record or raw', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const source = fixture('malformed.ndjson');
    const inputLines = linesOf(await readFile(source, 'utf8'));

    const { summary } = await importJson(store, [source], { cwd: dir });

    const failuresPath = resolve(dir, summary.failuresFile as string);
    const underStore = relative(join(store, 'failures'), failuresPath);
    expect(underStore.startsWith('..'), `${failuresPath} should be under ${store}/failures/`).toBe(false);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => f.line).sort((a, b) => a - b)).toEqual([3, 5, 8, 9, 11]);
    for (const failure of failures) {
      const text = inputLines[failure.line - 1]!;
      expect(basename(failure.source)).toBe('malformed.ndjson');
      expect(failure.code, `line ${failure.line}`).toBe(badLines[failure.line]);
      expect(failure.key).toBeNull();
      expect(typeof failure.error).toBe('string');
      expect(failure.error.length).toBeGreaterThan(0);
      expect(typeof failure.attempts).toBe('number');
      expect(failure.attempts).toBeLessThanOrEqual(1); // a bad record is never retried
      if (failure.code === 'E_PARSE') expect(failure.raw).toBe(text);
      else expectRecordOrRaw(failure, text);
    }
  });

  it('bwrite retry reports a record that fails again at its original source and line, with its record or raw text as before', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const source = fixture('malformed.ndjson');
    const first = await importJson(store, [source], { cwd: dir });
    const before = await readFailures(first.summary.failuresFile, dir);

    const again = await importJson(store, [first.summary.failuresFile as string], { cwd: dir }, 'retry');

    expect(again.run.code, describeRun(again.args, again.run)).toBe(1);
    expect(again.summary).toMatchObject({ read: 5, written: 0, failed: 5 });
    const after = await readFailures(again.summary.failuresFile, dir);
    const view = (f: Failure) => ({ source: f.source, line: f.line, code: f.code, record: f.record, raw: f.raw });
    expect(after.map(view)).toEqual(before.map(view));
    expect(again.run.stderr).toContain(`bwrite: ${before[0]!.source}:3: E_PARSE`);
  });

  it('an .ndjson file holding one JSON array over lines of their own fails at line 1 with a hint naming --format json', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'pretty.ndjson'), '[\n  {"id": "a"},\n  {"id": "b"}\n]\n');
    const { run, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });
    // {"id": "b"} parses on its own line and is stored, so the input is not judged to be in another format.
    expect(run.code, describeRun(args, run)).toBe(1);
    expect(run.stderr).toMatch(/pretty\.ndjson:1: E_(PARSE|NOT_OBJECT): .*this is read as NDJSON, one JSON object per line; a JSON array is read with --format json/);
  });

  it('an .ndjson file that is one JSON array on one line stops with exit 2 and a hint naming --format json (see an-input-in-another-format-stops-with-a-hint)', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'compact.ndjson'), '[{"id":"a"},{"id":"b"}]\n');
    const run = await runBwrite(['import', '--store', join(dir, 'store'), file], { cwd: dir });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('compact.ndjson: it looks like a JSON array, not NDJSON (one JSON object a line); add --format json');
  });

  it('writes failures to the file named by --failures', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const target = join(dir, 'out', 'bad.ndjson');
    await writeText(join(dir, 'out', '.keep'), '');

    const { run, summary, args } = await importJson(store, ['--failures', target, fixture('malformed.ndjson')], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(resolve(dir, summary.failuresFile as string)).toBe(target);
    expect(await readFailures(target, dir)).toHaveLength(5);
  });

  it('names standard input by --source-name in the failures file', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const input = await readFile(fixture('malformed.ndjson'));

    const { summary } = await importJson(store, ['--source-name', 'nightly-feed', '-'], { cwd: dir, input });

    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(5);
    for (const failure of failures) expect(failure.source).toBe('nightly-feed');
  });

  it('reports each failure against its own file when several files are imported', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const first = await writeText(join(dir, 'first.ndjson'), '{"id":"f1"}\n{"id":"f2"}\nnot json\n');
    const second = await writeText(join(dir, 'second.ndjson'), '{oops\n{"id":"s2"}\n');

    const { run, summary } = await importJson(store, [first, second], { cwd: dir });

    expect(run.code).toBe(1);
    expect(summary).toMatchObject({ written: 3, failed: 2 });
    const failures = await readFailures(summary.failuresFile, dir);
    const where = failures.map((f) => `${basename(f.source)}:${f.line}`).sort();
    expect(where).toEqual(['first.ndjson:3', 'second.ndjson:1']);
  });

  it('fails a line with invalid UTF-8 with E_INVALID_UTF8 and keeps later line numbers right', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = join(dir, 'bytes.ndjson');
    await writeText(
      file,
      Buffer.concat([
        Buffer.from('{"id":"u1","s":"fine"}\n{"id":"u2","s":"bad '),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('"}\n{"id":"u3","s":"caf\u00e9"}\n{oops\n'),
      ]),
    );

    const { run, summary } = await importJson(store, [file], { cwd: dir });

    expect(run.code).toBe(1);
    expect(summary).toMatchObject({ written: 2, failed: 2 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code]).sort()).toEqual([
      [2, 'E_INVALID_UTF8'],
      [4, 'E_PARSE'],
    ]);
    expect(await exportValues(store)).toEqual([
      { id: 'u1', s: 'fine' },
      { id: 'u3', s: 'café' },
    ]);
  });

  it('keeps the exact bytes of an invalid UTF-8 line (rawBase64), and retry stores it only once its raw text is fixed by hand', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const bad = Buffer.concat([Buffer.from('{"id":"u2","s":"bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    const file = await writeText(join(dir, 'bytes.ndjson'), Buffer.concat([Buffer.from('{"id":"u1"}\n'), bad, Buffer.from('\n')]));
    const { summary } = await importJson(store, [file], { cwd: dir });
    const [entry] = await readFailures(summary.failuresFile, dir);
    expect(Buffer.from(entry!.rawBase64 as string, 'base64').equals(bad)).toBe(true);

    const unchanged = await importJson(store, [summary.failuresFile as string], { cwd: dir }, 'retry');
    expect(unchanged.run.code, describeRun(unchanged.args, unchanged.run)).toBe(1);
    expect(unchanged.summary).toMatchObject({ written: 0, failed: 1 });
    expect((await readFailures(unchanged.summary.failuresFile, dir))[0]).toMatchObject({ code: 'E_INVALID_UTF8', source: entry!.source, line: 2 });

    const fixed = await writeText(join(dir, 'fixed.ndjson'), JSON.stringify({ ...entry, raw: '{"id":"u2","s":"fixed"}' }) + '\n');
    const retried = await importJson(store, [fixed], { cwd: dir }, 'retry');
    expect(retried.run.code, describeRun(retried.args, retried.run)).toBe(0);
    expect(await exportValues(store)).toEqual([{ id: 'u1' }, { id: 'u2', s: 'fixed' }]);
  });

  it('fails a record larger than --max-record-size with E_RECORD_TOO_LARGE and goes on', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const big = JSON.stringify({ id: 'big', pad: 'x'.repeat(5000) });
    const file = await writeText(join(dir, 'sizes.ndjson'), `{"id":"a"}\n${big}\n{"id":"b"}\nnope\n{"id":"c"}\n`);

    const { run, summary } = await importJson(store, ['--max-record-size', '1000', file], { cwd: dir });

    expect(run.code).toBe(1);
    expect(summary).toMatchObject({ written: 3, failed: 2 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code]).sort()).toEqual([
      [2, 'E_RECORD_TOO_LARGE'],
      [4, 'E_PARSE'],
    ]);
    expect(await exportValues(store)).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
  });

  it('counts line numbers through CRLF line ends and blank lines', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'crlf.ndjson'), '{"id":"a"}\r\n\r\n{"id":"b"}\r\n[\r\n{"id":"c"}\r\n');

    const { summary } = await importJson(store, [file], { cwd: dir });

    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code])).toEqual([[4, 'E_PARSE']]);
    expect(failures[0]!.raw).toBe('[');
  });
});
