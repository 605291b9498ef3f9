import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, gzip, runBwrite, tempDir, writeGzip, writeText } from '../helpers/cli.js';
import {
  asCsvStrings,
  byId,
  describeRun,
  exportValues,
  importJson,
  importOk,
  parseSummary,
  peopleRecords,
} from '../helpers/store.js';

describe('import reads every input format', () => {
  it('imports an NDJSON file and stores each record under its id', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const people = await peopleRecords();

    const summary = await importOk(store, [fixture('people.ndjson')]);

    expect(summary).toMatchObject({ status: 'ok', read: 20, written: 20, skipped: 0, failed: 0 });
    expect(await exportValues(store)).toEqual(byId(people));
  });

  it('stores each CSV row as an object keyed by the header, every field a string', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const people = await peopleRecords();

    const summary = await importOk(store, [fixture('people.csv')]);

    expect(summary).toMatchObject({ status: 'ok', read: 20, written: 20, failed: 0 });
    expect(await exportValues(store)).toEqual(byId(people).map(asCsvStrings));
  });

  it('imports a TSV file into the same rows as the equivalent CSV file', async () => {
    const dir = await tempDir();
    const people = await peopleRecords();

    await importOk(join(dir, 'tsv'), [fixture('people.tsv')]);

    expect(await exportValues(join(dir, 'tsv'))).toEqual(byId(people).map(asCsvStrings));
  });

  it('types CSV and TSV fields with --infer-types, so they store what the NDJSON file stores', async () => {
    const dir = await tempDir();
    const people = byId(await peopleRecords());

    await importOk(join(dir, 'csv'), ['--infer-types', fixture('people.csv')]);
    await importOk(join(dir, 'tsv'), ['--infer-types', fixture('people.tsv')]);

    expect(await exportValues(join(dir, 'csv'))).toEqual(people);
    expect(await exportValues(join(dir, 'tsv'))).toEqual(people);
  });

  it('reads .jsonl and .json files as NDJSON', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const jsonl = await writeText(join(dir, 'a.jsonl'), '{"id":"a1","x":1}\n{"id":"a2","x":2}\n');
    const json = await writeText(join(dir, 'b.json'), '{"id":"b1","x":3}\n{"id":"b2","x":4}\n');

    const summary = await importOk(store, [jsonl, json]);

    expect(summary).toMatchObject({ read: 4, written: 4, failed: 0 });
    expect(await exportValues(store)).toEqual([
      { id: 'a1', x: 1 },
      { id: 'a2', x: 2 },
      { id: 'b1', x: 3 },
      { id: 'b2', x: 4 },
    ]);
  });

  it('decompresses .ndjson.gz, .csv.gz and .tsv.gz files', async () => {
    const dir = await tempDir();
    const people = byId(await peopleRecords());
    const ndjsonGz = await writeGzip(join(dir, 'people.ndjson.gz'), await readFile(fixture('people.ndjson')));
    const csvGz = await writeGzip(join(dir, 'people.csv.gz'), await readFile(fixture('people.csv')));
    const tsvGz = await writeGzip(join(dir, 'people.tsv.gz'), await readFile(fixture('people.tsv')));

    await importOk(join(dir, 's1'), [ndjsonGz]);
    await importOk(join(dir, 's2'), [csvGz]);
    await importOk(join(dir, 's3'), [tsvGz]);

    expect(await exportValues(join(dir, 's1'))).toEqual(people);
    expect(await exportValues(join(dir, 's2'))).toEqual(people.map(asCsvStrings));
    expect(await exportValues(join(dir, 's3'))).toEqual(people.map(asCsvStrings));
  });

  it('recognises gzip by its magic bytes even when the file is named .ndjson', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const disguised = await writeGzip(join(dir, 'disguised.ndjson'), await readFile(fixture('people.ndjson')));

    const summary = await importOk(store, [disguised]);

    expect(summary).toMatchObject({ read: 20, written: 20, failed: 0 });
    expect(await exportValues(store)).toEqual(byId(await peopleRecords()));
  });

  it('reads NDJSON from standard input given as -', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const text = await readFile(fixture('people.ndjson'));

    const { run, summary, args } = await importJson(store, ['-'], { input: text });

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ read: 20, written: 20, failed: 0 });
    expect(await exportValues(store)).toEqual(byId(await peopleRecords()));
  });

  it('reads gzip-compressed standard input', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const text = await readFile(fixture('people.ndjson'));

    const { run, summary, args } = await importJson(store, ['-'], { input: gzip(text) });

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ read: 20, written: 20, failed: 0 });
    expect(await exportValues(store)).toEqual(byId(await peopleRecords()));
  });

  it('reads CSV from standard input with --format csv', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');

    const { run, args } = await importJson(store, ['--format', 'csv', '-'], { input: 'id,n\ns1,1\ns2,2\n' });

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(await exportValues(store)).toEqual([
      { id: 's1', n: '1' },
      { id: 's2', n: '2' },
    ]);
  });

  it('imports several files of different formats in one run', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const a = await writeText(join(dir, 'a.ndjson'), '{"id":"a","from":"ndjson"}\n');
    const b = await writeText(join(dir, 'b.csv'), 'id,from\nb,csv\n');
    const c = await writeGzip(join(dir, 'c.tsv.gz'), 'id\tfrom\nc\ttsv\n');

    const summary = await importOk(store, [a, b, c]);

    expect(summary).toMatchObject({ status: 'ok', read: 3, written: 3, failed: 0 });
    expect(await exportValues(store)).toEqual([
      { id: 'a', from: 'ndjson' },
      { id: 'b', from: 'csv' },
      { id: 'c', from: 'tsv' },
    ]);
  });

  it('lets --format override the extension', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const csvInTxt = await writeText(join(dir, 'rows.txt'), 'id,colour\nr1,red\n');
    const csvNamedNdjson = await writeText(join(dir, 'rows.ndjson'), 'id,colour\nr2,green\n');
    const tsvNamedCsv = await writeText(join(dir, 'rows.csv'), 'id\tcolour\nr3,x\tblue\n');

    await importOk(store, ['--format', 'csv', csvInTxt]);
    await importOk(store, ['-f', 'csv', csvNamedNdjson]);
    await importOk(store, ['--format', 'tsv', tsvNamedCsv]);

    expect(await exportValues(store)).toEqual([
      { id: 'r1', colour: 'red' },
      { id: 'r2', colour: 'green' },
      { id: 'r3,x', colour: 'blue' },
    ]);
  });

  it('reads NDJSON with a byte-order mark and CRLF line ends', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'crlf.ndjson'), '\ufeff{"id":"c1","v":"one"}\r\n{"id":"c2","v":"two"}\r\n');

    const summary = await importOk(store, [file]);

    expect(summary).toMatchObject({ read: 2, written: 2, failed: 0 });
    expect(await exportValues(store)).toEqual([
      { id: 'c1', v: 'one' },
      { id: 'c2', v: 'two' },
    ]);
  });

  it('imports a last line that has no trailing newline', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'no-eol.ndjson'), '{"id":"e1"}\n{"id":"e2"}');

    const summary = await importOk(store, [file]);

    expect(summary).toMatchObject({ read: 2, written: 2 });
  });

  it('takes the store from $BWRITE_STORE when --store is not given', async () => {
    const dir = await tempDir();
    const store = join(dir, 'from-env');
    const args = ['import', fixture('people.ndjson')];

    const run = await runBwrite(args, { cwd: dir, env: { BWRITE_STORE: store } });

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(await exportValues(store)).toHaveLength(20);
  });

  it('defaults the store to ./bwrite-store in the working directory', async () => {
    const dir = await tempDir();
    const args = ['import', '--json', fixture('people.ndjson')];

    const run = await runBwrite(args, { cwd: dir });

    expect(parseSummary(args, run).written).toBe(20);
    expect(await exportValues(join(dir, 'bwrite-store'))).toHaveLength(20);
  });
});
