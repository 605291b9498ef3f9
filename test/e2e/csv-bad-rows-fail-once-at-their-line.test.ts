import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, exportValues, getValue, importJson, parseSummary, readFailures } from '../helpers/store.js';
import { expectOnlyBwriteLines, runMeasured } from '../helpers/robustness.js';

describe('a bad CSV row fails once, at the line where it starts, and the rows after it are read', () => {
  it('a multi-line quoted field over --max-record-size fails E_RECORD_TOO_LARGE at its first line; every later row is stored', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const later = Array.from({ length: 17 }, (_, i) => `${i + 3},r\n`).join('');
    const file = await writeText(join(dir, 'big-field.csv'), `id,p\n1,a\n2,"${'z\n'.repeat(800)}"\n${later}`);

    const { run, summary, args } = await importJson(store, ['--max-record-size', '1000', file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ read: 19, written: 18, failed: 1 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code, f.raw])).toEqual([[3, 'E_RECORD_TOO_LARGE', null]]);
    expect((await getValue(store, '19')).stdout).toBe('{"id":"19","p":"r"}\n');
  });

  it('a stray quote deep in a file fails that row alone, at its line, with only that row as raw', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const rows = Array.from({ length: 3000 }, (_, i) => `${i + 1},x\n`).join('');
    const file = await writeText(join(dir, 'stray.csv'), `id,v\n${rows}3001,ab"c\n3002,y\n`);

    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ read: 3002, written: 3001, failed: 1 });
    expect(run.stderr).toMatch(/stray\.csv:3002: E_CSV: /);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code, f.raw])).toEqual([[3002, 'E_CSV', '3001,ab"c']]);
    expect((await getValue(store, '3000')).stdout).toBe('{"id":"3000","v":"x"}\n');
    expect((await getValue(store, '3002')).stdout).toBe('{"id":"3002","v":"y"}\n');
  });

  it('a comma file read with the wrong --delimiter fails each row once, at its own line', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'commas.csv'), 'id,name\n1,"Smith, J"\n2,"Doe, A"\n3,plain\n4,"Roe, B"\n5,"x"\n');

    const { run, summary, args } = await importJson(store, ['--delimiter', ';', file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ read: 5, written: 0, failed: 5 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => f.line)).toEqual([2, 3, 4, 5, 6]);
  });

  it('text after a closing quote fails that row alone', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'closing.csv'), 'id,v\n1,"a"b\n2,"c"\n');

    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code, f.raw])).toEqual([[2, 'E_CSV', '1,"a"b']]);
    expect(await exportValues(store)).toEqual([{ id: '2', v: 'c' }]);
  });
});

describe('a lone CR ends a CSV line too', () => {
  it('imports a file with CR-only line ends, counting its lines', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'mac.csv'), 'id,v\r1,a\r2,b,extra\r3,c\r');

    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ read: 3, written: 2, failed: 1 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code])).toEqual([[3, 'E_CSV_COLUMNS']]);
    expect(await exportValues(store)).toEqual([
      { id: '1', v: 'a' },
      { id: '3', v: 'c' },
    ]);
  });

  it('keeps a CR or CRLF inside a quoted field as data, whatever mix of line ends surrounds it', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'mixed.csv'), 'id,v\r1,"x\ry"\r\n2,"p\r\nq"\n3,plain\r4,"last\nline"');

    const { run, summary, args } = await importJson(store, [file, '--key', '{id}@{$line}'], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ read: 4, written: 4 });
    expect(await exportLines(store, ['--with-keys'])).toEqual([
      JSON.stringify({ key: '1@2', value: { id: '1', v: 'x\ry' } }),
      JSON.stringify({ key: '2@4', value: { id: '2', v: 'p\r\nq' } }),
      JSON.stringify({ key: '3@6', value: { id: '3', v: 'plain' } }),
      JSON.stringify({ key: '4@7', value: { id: '4', v: 'last\nline' } }),
    ]);
  });
});


function* repeated(head: string, piece: Buffer, times: number, tail: string): Generator<string | Buffer> {
  yield head;
  for (let i = 0; i < times; i++) yield piece;
  yield tail;
}

describe('a huge CSV field is never held in memory', () => {
  it('a 200 MB quoted field through standard input fails E_RECORD_TOO_LARGE at its first line; the rows after it are stored, memory stays under 300 MB', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--json', '--format', 'csv', '--source-name', 'huge', '-'];
    const mibOfLines = Buffer.from(`${'z'.repeat(1023)}\n`.repeat(1024));

    const { run, stderr, rssMiB } = await runMeasured(args, repeated('id,p\nbefore,1\nhuge,"', mibOfLines, 200, '"\nafter,3\n'));

    expect(run.code, describeRun(args, { ...run, stderr })).toBe(1);
    expectOnlyBwriteLines(stderr);
    expect(stderr).toMatch(/^bwrite: huge:3: E_RECORD_TOO_LARGE/m);
    expect(parseSummary(args, run)).toMatchObject({ read: 3, written: 2, failed: 1 });
    expect(await exportLines(store)).toEqual(['{"id":"after","p":"3"}', '{"id":"before","p":"1"}']);
    if (rssMiB !== null) expect(rssMiB, 'peak RSS in MiB').toBeLessThan(300);
  }, 90_000);

  it('a quote left open near the start of a 100 MB input fails E_CSV at its first line, with bounded memory', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--json', '--format', 'csv', '--source-name', 'open', '-'];
    const rows = Buffer.from(Array.from({ length: 10_000 }, (_, i) => `row${i},${'v'.repeat(90)}\n`).join(''));
    const times = Math.ceil((100 * 1024 * 1024) / rows.length);

    const { run, stderr, rssMiB } = await runMeasured(args, repeated('id,v\nfirst,1\nopen,"never closed\n', rows, times, ''));

    expect(run.code, describeRun(args, { ...run, stderr })).toBe(1);
    expectOnlyBwriteLines(stderr);
    expect(stderr).toMatch(/^bwrite: open:3: E_CSV: .*never closed/m);
    expect(parseSummary(args, run)).toMatchObject({ read: 2, written: 1, failed: 1 });
    expect(await exportLines(store)).toEqual(['{"id":"first","v":"1"}']);
    if (rssMiB !== null) expect(rssMiB, 'peak RSS in MiB').toBeLessThan(300);
  }, 90_000);
});
