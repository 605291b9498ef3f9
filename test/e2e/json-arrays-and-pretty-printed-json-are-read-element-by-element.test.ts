import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzip, ndjson, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, importJson, type Summary } from '../helpers/store.js';
import { expectAccountedFor, expectSameExport, expectVerifies, exportText, failuresOf, pad, progressOf, waitUntil } from '../helpers/robustness.js';

const people = [
  { id: 'p1', name: 'Ada', score: 1.5 },
  { id: 'p2', name: 'Brendan "B" Eich', tags: ['js', '}]'] },
  { id: 'p3', name: 'Grace', nested: { deep: [1, { x: null }] } },
];

/** An import that must exit `code`; returns its summary, with every record read accounted for. */
async function importExpecting(store: string, args: string[], code: number, opts = {}): Promise<Summary> {
  const { run, summary, args: full } = await importJson(store, args, opts);
  expect(run.code, describeRun(full, run)).toBe(code);
  expectAccountedFor(summary);
  return summary;
}

describe('JSON text is read element by element (--format json, and .json files or stdin that start with [)', () => {
  it('a .json file holding one array, compact or pretty-printed, stores each element; a pretty-printed one as one line', async () => {
    const dir = await tempDir();
    const compact = await writeText(join(dir, 'compact.json'), JSON.stringify(people));
    const pretty = await writeText(join(dir, 'pretty.json'), JSON.stringify(people, null, 2) + '\n');
    const one = join(dir, 'one');
    const two = join(dir, 'two');
    expect(await importExpecting(one, [compact], 0)).toMatchObject({ read: 3, written: 3, failed: 0 });
    expect(await importExpecting(two, [pretty], 0)).toMatchObject({ read: 3, written: 3, failed: 0 });
    const expected = people.map((person) => JSON.stringify(person));
    expect(await exportLines(one)).toEqual(expected);
    expect(await exportLines(two), 'the white space between tokens of an element that spans lines is dropped').toEqual(expected);
  });

  it('concatenated and pretty-printed top-level objects are records too, and an element on one line keeps its exact text', async () => {
    const dir = await tempDir();
    const text = `{\n  "id": "a",\n  "n": 1.50\n}\n{"id": "b", "n": 9007199254740993}{"id":"c"}\n\n{ "id": "d" }`;
    const file = await writeText(join(dir, 'objects.json'), text);
    const store = join(dir, 'store');
    expect(await importExpecting(store, [file], 0)).toMatchObject({ read: 4, written: 4 });
    expect(await exportLines(store)).toEqual(['{"id":"a","n":1.50}', '{"id": "b", "n": 9007199254740993}', '{"id":"c"}', '{ "id": "d" }']);
  });

  it('a bad element fails alone, at the line where it starts, and the elements after it are stored', async () => {
    const dir = await tempDir();
    const text = '[\n  {"id": "a"},\n  {\n    "name": "no id"\n  },\n  42, [1, 2], {"id": "b", "x": tru},\n  {"id": "c"}\n]\n';
    const file = await writeText(join(dir, 'items.json'), text);
    const store = join(dir, 'store');
    const summary = await importExpecting(store, [file], 1);
    expect(summary).toMatchObject({ read: 6, written: 2, failed: 4 });
    const failures = await failuresOf(summary, dir);
    expect(failures.map((f) => [f.line, f.code])).toEqual([
      [3, 'E_KEY_MISSING'],
      [6, 'E_NOT_OBJECT'],
      [6, 'E_NOT_OBJECT'],
      [6, 'E_PARSE'],
    ]);
    expect(failures[3]!.raw).toBe('{"id": "b", "x": tru}');
    expect(await exportLines(store)).toEqual(['{"id": "a"}', '{"id": "c"}']);
  });

  it('an element over --max-record-size, or with invalid UTF-8, fails alone at its line and is never stored', async () => {
    const dir = await tempDir();
    const big = `{"id": "big", "s": "${'x'.repeat(5000)}"}`;
    const bytes = Buffer.concat([Buffer.from(`[\n  {"id": "a"},\n  ${big},\n  {"id": "bad", "s": "`), Buffer.from([0xff, 0xfe]), Buffer.from('"},\n  {"id": "b"}\n]\n')]);
    const file = await writeText(join(dir, 'mixed.json'), bytes);
    const store = join(dir, 'store');
    const summary = await importExpecting(store, ['--max-record-size', '1000', file], 1);
    expect(summary).toMatchObject({ read: 4, written: 2, failed: 2 });
    expect((await failuresOf(summary, dir)).map((f) => [f.line, f.code])).toEqual([
      [3, 'E_RECORD_TOO_LARGE'],
      [4, 'E_INVALID_UTF8'],
    ]);
    expect(await exportLines(store)).toEqual(['{"id": "a"}', '{"id": "b"}']);
  });

  it('a syntax error that loses the structure keeps the records before it and fails the rest as one entry naming its line, exit 1', async () => {
    const dir = await tempDir();
    const text = '[\n  {"id": "a"},\n  {"id": "b"}\n  {"id": "c"},\n  {"id": "d"}\n]\n';
    const file = await writeText(join(dir, 'missing-comma.json'), text);
    const store = join(dir, 'store');
    const { run, summary, args } = await importJson(store, [file]);
    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 2, failed: 1 });
    const failures = await failuresOf(summary, dir);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ line: 4, code: 'E_PARSE' });
    expect(failures[0]!.error).toContain("where ',' or ']' should be");
    expect(run.stderr).toContain(`${file}:4: E_PARSE: not valid JSON:`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await exportLines(store)).toEqual(['{"id": "a"}', '{"id": "b"}']);
  });

  it('standard input that starts with [ is read as a JSON array, and so is a gzip .json.gz', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    expect(await importExpecting(store, ['-'], 0, { input: `  \n${JSON.stringify(people, null, 1)}` })).toMatchObject({ read: 3, written: 3 });
    const zipped = await writeText(join(dir, 'people.json.gz'), gzip(JSON.stringify(people.map((p) => ({ ...p, id: `z${p.id}` })), null, 2)));
    expect(await importExpecting(store, [zipped], 0)).toMatchObject({ read: 3, written: 3 });
    expect(await exportLines(store)).toHaveLength(6);
  });

  it('a .json file whose first line is one whole value is NDJSON: a bad line fails alone and the next lines are read', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'log.json'), '{"id": "a"}\n{"id": "b", oops\n{"id": "c"}\n');
    const store = join(dir, 'store');
    const summary = await importExpecting(store, [file], 1);
    expect(summary).toMatchObject({ read: 3, written: 2, failed: 1 });
    expect((await failuresOf(summary, dir)).map((f) => [f.line, f.code])).toEqual([[2, 'E_PARSE']]);
  });

  it('a top-level scalar, or an array of arrays, fails element by element as not a JSON object', async () => {
    const dir = await tempDir();
    const scalar = await writeText(join(dir, 'scalar.json'), '42\n');
    const arrays = await writeText(join(dir, 'arrays.json'), '[[1, 2],\n [3]]');
    const store = join(dir, 'store');
    const one = await importExpecting(store, ['--format', 'json', scalar], 1);
    expect((await failuresOf(one, dir)).map((f) => [f.line, f.code, f.raw])).toEqual([[1, 'E_NOT_OBJECT', '42']]);
    const two = await importExpecting(store, [arrays], 1);
    expect((await failuresOf(two, dir)).map((f) => [f.line, f.code, f.raw])).toEqual([
      [1, 'E_NOT_OBJECT', '[1, 2]'],
      [2, 'E_NOT_OBJECT', '[3]'],
    ]);
  });
});

describe('--resume reads a JSON array on from the last committed element', () => {
  // Two elements a line, so that resuming by line alone would skip or repeat records.
  const RECORDS = 60_000;
  const make = (i: number) => ({ id: `j${pad(i)}`, n: i, s: 'x'.repeat(i % 17) });
  const arrayText = () => {
    const parts: string[] = [];
    for (let i = 0; i < RECORDS; i += 2) parts.push(`  ${JSON.stringify(make(i))}, ${JSON.stringify(make(i + 1))}`);
    return `[\n${parts.join(',\n')}\n]\n`;
  };

  it('an import killed with SIGKILL mid-array, then resumed, gives the store one clean run makes', async () => {
    const dir = await tempDir('bwrite-json-crash-');
    const file = await writeText(join(dir, 'events.json'), arrayText());
    const reference = join(dir, 'reference');
    await importExpecting(reference, [await writeText(join(dir, 'events.ndjson'), ndjson(RECORDS, make))], 0, { timeoutMs: 60_000 });
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--resume', '--progress', 'none', '--batch-size', '500', file];
    for (let kill = 1; kill <= 3; kill++) {
      const before = (await progressOf(store, file)) ?? { runs: 0, records: 0 };
      const running = startBwrite(args, { timeoutMs: 60_000 });
      let ended = false;
      void running.result.then(() => (ended = true));
      await waitUntil(async () => ended || ((await progressOf(store, file)) ?? before).records > before.records, 'the run to commit a batch');
      await sleep(50 * kill);
      running.child.kill('SIGKILL');
      const run = await running.result;
      if (run.signal === null) expect(run.code, describeRun(args, run)).toBe(0);
      await expectVerifies(store, `after kill ${kill}`);
    }
    const committed = (await progressOf(store, file))!.records;
    const final = await importExpecting(store, ['--resume', '--batch-size', '500', file], 0, { timeoutMs: 60_000 });
    expect(final).toMatchObject({ read: RECORDS, skipped: committed, written: RECORDS - committed, failed: 0 });
    expect(committed, 'the kills left a committed prefix to read on from').toBeGreaterThan(0);
    expectSameExport(await exportText(store), await exportText(reference), 'killed and resumed JSON array');
  });

  it('objects that share one line, appended to between runs, are each imported once', async () => {
    const dir = await tempDir();
    const objects = (from: number, count: number) => Array.from({ length: count }, (_, i) => JSON.stringify(make(from + i))).join('');
    const file = await writeText(join(dir, 'one-line.json'), objects(0, 300));
    const store = join(dir, 'store');
    expect(await importExpecting(store, ['--resume', '--format', 'json', '-b', '10', file], 0)).toMatchObject({ read: 300, written: 300 });
    await appendFile(file, objects(300, 20));
    const again = await importExpecting(store, ['--resume', '--format', 'json', '-b', '10', file], 0);
    expect(again).toMatchObject({ read: 320, skipped: 300, written: 20, failed: 0 });
  });

  it('pretty-printed objects whose last one is still being written: --resume leaves it for the next run, which stores it once complete', async () => {
    const dir = await tempDir();
    const file = join(dir, 'events.json');
    const pretty = (from: number, count: number) => Array.from({ length: count }, (_, i) => JSON.stringify(make(from + i), null, 2)).join('\n');
    const last = JSON.stringify(make(100), null, 2);
    const cut = last.indexOf('\n', last.length / 2);
    await writeText(file, `${pretty(0, 100)}\n${last.slice(0, cut)}`);
    const store = join(dir, 'store');

    const { run, summary, args } = await importJson(store, ['--resume', '--format', 'json', file]);
    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ read: 100, written: 100, failed: 0, failuresFile: null });
    expect(run.stderr).toContain(`${file}:${100 * last.split('\n').length + 1}: the input ends inside the JSON value or array that starts here, so it may still be being written; left for the next --resume`);

    await appendFile(file, `${last.slice(cut)}\n${pretty(101, 2)}\n`);
    const again = await importExpecting(store, ['--resume', '--format', 'json', file], 0);
    expect(again).toMatchObject({ read: 103, skipped: 100, written: 3, failed: 0 });
    expect(await exportLines(store)).toHaveLength(103);

    const without = await importJson(join(dir, 'other'), ['--format', 'json', await writeText(join(dir, 'cut.json'), `${pretty(0, 3)}\n${last.slice(0, cut)}`)]);
    expect(without.run.code, 'without --resume, a cut value fails the rest like any break').toBe(1);
    expect(without.summary).toMatchObject({ written: 3, failed: 1 });
  });

  it('an array fixed after a break is read on from the last element stored before it', async () => {
    const dir = await tempDir();
    const file = join(dir, 'items.json');
    const good = (from: number, count: number) => Array.from({ length: count }, (_, i) => JSON.stringify(make(from + i)));
    // More than the 4 KiB a watermark fingerprints, so that the fix lies past them.
    await writeText(file, `[\n${good(0, 200).join(',\n')},\n{"id": oops]\n`);
    const store = join(dir, 'store');
    const broken = await importExpecting(store, ['--resume', file], 1);
    expect(broken).toMatchObject({ written: 200, failed: 1 });
    await writeText(file, `[\n${good(0, 200).join(',\n')},\n${good(200, 2).join(',\n')}\n]\n`);
    const fixed = await importExpecting(store, ['--resume', file], 0);
    expect(fixed).toMatchObject({ read: 202, skipped: 200, written: 2, failed: 0 });
  });
});
