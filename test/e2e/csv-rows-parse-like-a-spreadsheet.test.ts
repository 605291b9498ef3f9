import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, tempDir, writeGzip, writeText } from '../helpers/cli.js';
import { describeRun, exportMap, exportValues, getValue, importJson, importOk, readFailures } from '../helpers/store.js';

describe('CSV rows parse like a spreadsheet would', () => {
  it('ignores a byte-order mark and CRLF line ends', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');

    const summary = await importOk(store, [fixture('bom-crlf.csv')]);

    expect(summary).toMatchObject({ read: 3, written: 3, failed: 0 });
    expect(await exportValues(store)).toEqual([
      { id: 'b1', name: 'Widget', qty: '3' },
      { id: 'b2', name: 'Gadget, large', qty: '10' },
      { id: 'b3', name: 'Gizmo', qty: '0' },
    ]);
  });

  it('keeps rows apart when one file mixes \\n and \\r\\n line ends', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'mixed.csv'), 'id,word\r\nr1,one\nr2,two\r\nr3,three\nr4,four\r\n');

    const summary = await importOk(store, [file]);

    expect(summary).toMatchObject({ read: 4, written: 4, failed: 0 });
    expect(await exportValues(store)).toEqual([
      { id: 'r1', word: 'one' },
      { id: 'r2', word: 'two' },
      { id: 'r3', word: 'three' },
      { id: 'r4', word: 'four' },
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and embedded newlines', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(
      join(dir, 'quoted.csv'),
      'id,text\n' + 'q1,"a, b, c"\n' + 'q2,"she said ""hi"""\n' + 'q3,"line one\nline two\nline three"\n' + 'q4,plain\n',
    );

    await importOk(store, [file]);

    expect(Object.fromEntries(await exportMap(store))).toEqual({
      q1: { id: 'q1', text: 'a, b, c' },
      q2: { id: 'q2', text: 'she said "hi"' },
      q3: { id: 'q3', text: 'line one\nline two\nline three' },
      q4: { id: 'q4', text: 'plain' },
    });
  });

  it('keeps a CRLF inside a quoted field as part of the value', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'crlf-in-field.csv'), 'id,text\r\nc1,"first\r\nsecond"\r\nc2,after\r\n');

    await importOk(store, [file]);

    expect(Object.fromEntries(await exportMap(store))).toEqual({
      c1: { id: 'c1', text: 'first\r\nsecond' },
      c2: { id: 'c2', text: 'after' },
    });
  });

  it('reports the right line for a failure that follows a row with embedded newlines', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // line 1 header; line 2 q1; lines 3-5 q2 (two embedded newlines); line 6 ragged; line 7 q4.
    const file = await writeText(join(dir, 'multi.csv'), 'id,text\nq1,one\nq2,"two\nlines\nmore"\nq3,three,EXTRA\nq4,four\n');

    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 3, failed: 1 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ line: 6, code: 'E_CSV_COLUMNS' });
    expect([...(await exportMap(store)).keys()]).toEqual(['q1', 'q2', 'q4']);
  });

  it('fails ragged rows alone with E_CSV_COLUMNS', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // line 3 has too few fields, line 5 too many.
    const file = await writeText(join(dir, 'ragged.csv'), 'id,a,b\nr1,1,2\nr2,1\nr3,1,2\nr4,1,2,3\nr5,1,2\n');

    const { run, summary } = await importJson(store, [file], { cwd: dir });

    expect(run.code).toBe(1);
    expect(summary).toMatchObject({ read: 5, written: 3, failed: 2 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code]).sort()).toEqual([
      [3, 'E_CSV_COLUMNS'],
      [5, 'E_CSV_COLUMNS'],
    ]);
    for (const failure of failures) expect(failure.source).toMatch(/ragged\.csv$/);
    expect([...(await exportMap(store)).keys()]).toEqual(['r1', 'r3', 'r5']);
  });

  it('infers numbers, booleans and empty-as-null with --infer-types', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(
      join(dir, 'typed.csv'),
      'id,int,float,neg,yes,no,empty,word\nt1,42,2.5,-7,true,false,,hello\n',
    );

    await importOk(store, ['--infer-types', file]);

    expect(await exportValues(store)).toEqual([
      { id: 't1', int: 42, float: 2.5, neg: -7, yes: true, no: false, empty: null, word: 'hello' },
    ]);
  });

  it('keeps every field a string without --infer-types', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'typed.csv'), 'id,int,float,yes,empty\nt1,42,2.5,true,\n');

    await importOk(store, [file]);

    const got = await getValue(store, 't1');
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual({ id: 't1', int: '42', float: '2.5', yes: 'true', empty: '' });
  });

  it('splits on the --delimiter character', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'semi.csv'), 'id;name;price\nd1;Smith, John;3,50\nd2;"Doe; Jane";4,00\n');

    await importOk(store, ['--delimiter', ';', file]);

    expect(await exportValues(store)).toEqual([
      { id: 'd1', name: 'Smith, John', price: '3,50' },
      { id: 'd2', name: 'Doe; Jane', price: '4,00' },
    ]);
  });

  it('names the columns with --no-header --columns, counting the first line as a record', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    // line 1 n1, line 2 ragged, line 3 n3
    const file = await writeText(join(dir, 'headless.csv'), 'n1,Nia\nn2\nn3,Noor\n');

    const { run, summary } = await importJson(store, ['--no-header', '--columns', 'id,name', file], { cwd: dir });

    expect(run.code).toBe(1);
    expect(await exportValues(store)).toEqual([
      { id: 'n1', name: 'Nia' },
      { id: 'n3', name: 'Noor' },
    ]);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code])).toEqual([[2, 'E_CSV_COLUMNS']]);
  });

  it('keeps commas and semicolons inside TSV fields', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'data.tsv'), 'id\tnote\nt1\tcommas, are, fine\nt2\tsemi;colons too\n');

    await importOk(store, [file]);

    expect(await exportValues(store)).toEqual([
      { id: 't1', note: 'commas, are, fine' },
      { id: 't2', note: 'semi;colons too' },
    ]);
  });

  it('reads a large CSV and a large gzip file without a warning on standard error', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const rows = Array.from({ length: 30_000 }, (_, i) => `r${i},${'w'.repeat(120)}`);
    const csv = await writeText(join(dir, 'large.csv'), `id,word\n${rows.join('\n')}\n`);
    const ndjson = rows.map((row) => JSON.stringify({ id: `g${row.split(',')[0]}`, word: row.split(',')[1] })).join('\n');
    const gz = await writeGzip(join(dir, 'large.ndjson.gz'), `${ndjson}\n`);

    const { run, summary, args } = await importJson(store, [csv, gz, '--key', 'id', '--quiet']);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ read: 60_000, written: 60_000, failed: 0 });
    expect(run.stderr).toBe('');
  });
});
