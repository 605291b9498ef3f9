// An input that plainly is not in the format it is read as stops the run with exit 2 and one line
// saying what it looks like and the flag to use, instead of a failures file of E_PARSE; nothing of
// it is written, so the same command with that flag imports it whole. Never once a record of it is stored.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, importJson, importOk, statsJson } from '../helpers/store.js';
import { expectOnlyBwriteLines, failuresOf } from '../helpers/robustness.js';

const csv = `id,name,score\n${Array.from({ length: 3000 }, (_, i) => `u${i},name ${i},${i % 100}`).join('\n')}\n`;

/** `bwrite import ARGS` expecting exit 2 and exactly one line on standard error; returns that line. */
async function expectHint(store: string, args: string[], input?: string | Buffer): Promise<string> {
  const full = ['import', '--store', store, ...args];
  const run = await runBwrite(full, { input });
  expect(run.code, describeRun(full, run)).toBe(2);
  expect(run.stdout).toBe('');
  const lines = linesOf(run.stderr);
  expect(lines, describeRun(full, run)).toHaveLength(1);
  expect(lines[0]).toMatch(/^bwrite: error: /);
  return lines[0]!;
}

/** Nothing was stored and no failure was listed. */
async function expectNothingImported(store: string): Promise<void> {
  expect(await exportLines(store)).toEqual([]);
  expect((await statsJson(store)).runs[0]).toMatchObject({ status: 'aborted', read: 0, failed: 0, failuresFile: null });
  expect(existsSync(join(store, 'failures')) ? (await import('node:fs')).readdirSync(join(store, 'failures')) : []).toEqual([]);
}

describe('an input in another format', () => {
  it('CSV piped to `bwrite import -` is named as CSV with --format csv, and nothing is written; with the flag it imports whole', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');

    const hint = await expectHint(store, ['-'], csv);

    expect(hint).toContain("looks like CSV (its first line is 'id,name,score')");
    expect(hint).toContain('--format csv');
    await expectNothingImported(store);
    expect((await importOk(store, ['--format', 'csv', '-'], { input: csv })).written).toBe(3000);
  });

  it.each([
    ['a JSON array on one line', '[{"id":"a"},{"id":"b"}]\n', 'a JSON array'],
    ['a pretty-printed JSON array (jq . output)', '[\n  {\n    "id": "a"\n  },\n  {\n    "id": "b"\n  }\n]\n', 'a JSON array'],
    ['pretty-printed objects', '{\n  "id": "a",\n  "tags": ["x", "y"]\n}\n{\n  "id": "b"\n}\n', 'pretty-printed JSON'],
  ])('%s in an .ndjson file is named with --format json', async (_name, content, looks) => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'export.ndjson'), content);

    const hint = await expectHint(join(dir, 'store'), [file]);

    expect(hint).toContain(`${file}: it looks like ${looks}`);
    expect(hint).toContain('--format json');
    await expectNothingImported(join(dir, 'store'));
  });

  it('pretty-printed objects piped to `bwrite import -` are named with --format json, which then imports them', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const pretty = Array.from({ length: 5 }, (_, i) => `{\n  "id": "k${i}",\n  "tags": ["x"]\n}\n`).join('');

    const hint = await expectHint(store, ['-'], pretty);

    expect(hint).toContain('-: it looks like pretty-printed JSON');
    expect(hint).toContain('--format json');
    await expectNothingImported(store);
    expect((await importOk(store, ['--format', 'json', '-'], { input: pretty })).written).toBe(5);
  });

  it('a .json file holding a JSON array is read as JSON, not stopped with a hint', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'export.json'), '[\n  {\n    "id": "a"\n  },\n  {\n    "id": "b"\n  }\n]\n');

    expect((await importOk(join(dir, 'store'), [file])).written).toBe(2);
  });

  it('UTF-16 text without a byte-order mark is named with the --encoding that reads it', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'excel.ndjson'), Buffer.from(ndjson(20, (i) => ({ id: `k${i}` })), 'utf16le'));

    expect(await expectHint(join(dir, 'store'), [file])).toContain('UTF-16 text without a byte-order mark; add --encoding utf-16le');
    expect((await importOk(join(dir, 'store'), ['--encoding', 'utf-16le', file])).written).toBe(20);
  });

  it('binary data and a ZIP archive are named as such, not as 3,000 E_PARSE failures', async () => {
    const dir = await tempDir();
    const binary = Buffer.alloc(64 * 1024);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919) % 251;
    const blob = await writeText(join(dir, 'image.ndjson'), binary);
    const zip = await writeText(join(dir, 'data.ndjson'), Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0]), binary]));

    expect(await expectHint(join(dir, 'binary'), [blob])).toContain('looks like binary data');
    expect(await expectHint(join(dir, 'zip'), [zip])).toContain('looks like a ZIP archive');
    await expectNothingImported(join(dir, 'binary'));
  });

  it('NDJSON named .csv is named with --format ndjson', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'records.csv'), ndjson(5, (i) => ({ id: `k${i}` })));

    expect(await expectHint(join(dir, 'store'), [file])).toContain('looks like NDJSON (a JSON object a line), not CSV; add --format ndjson');
  });

  it('after other inputs of the same run: theirs stay imported, the run exits 2, and a --resume with the right format imports only the new input', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const good = await writeText(join(dir, 'good.ndjson'), ndjson(10, (i) => ({ id: `g${i}` })));
    const table = await writeText(join(dir, 'table.csv'), 'id,v\nt1,1\nt2,2\n');
    const args = ['import', '--store', store, '--resume', '-f', 'ndjson', good, table];

    const run = await runBwrite(args, { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(2);
    expectOnlyBwriteLines(run.stderr);
    expect(run.stderr).toContain(`${table}: it looks like CSV`);
    expect(await exportLines(store)).toHaveLength(10);
    const resumed = await importOk(store, ['--resume', good, table], { cwd: dir });
    expect(resumed).toMatchObject({ read: 12, skipped: 10, written: 2, failed: 0 });
  });
});

describe('records that are bad in the right format still fail one by one', () => {
  it('a CSV-looking line after a stored record is one E_PARSE failure among the others, exit 1', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'mixed.ndjson'), `{"id":"first"}\n${csv}`);
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 1, failed: 3001 });
  });

  it('an NDJSON file whose first ten lines are broken objects lists each of them, and stores the good ones after', async () => {
    const dir = await tempDir();
    const broken = Array.from({ length: 10 }, (_, i) => `{"id": "broken ${i}"`).join('\n');
    const file = await writeText(join(dir, 'broken-start.ndjson'), `${broken}\n${ndjson(5, (i) => ({ id: `ok${i}` }))}`);
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 5, failed: 10 });
    expect((await failuresOf(summary, dir)).map((failure) => failure.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a file of a few CSV-looking lines that are all broken JSON objects is not mistaken for CSV', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'truncated.ndjson'), '{"id":"a","v":1,\n{"id":"b","v":2,\n');
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 0, failed: 2 });
  });
});
