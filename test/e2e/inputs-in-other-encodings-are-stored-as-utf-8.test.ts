// Latin-1, Windows-1252 and UTF-16 inputs (as Excel and older tools write them) are transcoded
// before lines are split, stored as UTF-8, and resumed by line like any other input.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, expectErrorLine, exportLines, importJson, importOk } from '../helpers/store.js';
import { failuresOf } from '../helpers/robustness.js';

const utf16le = (text: string) => Buffer.from(text, 'utf16le');
const utf16be = (text: string) => Buffer.from(text, 'utf16le').swap16();
const BOM = '\ufeff';

describe('--encoding', () => {
  it('latin1 and its alias iso-8859-1 read every byte as the character of that number; windows-1252 reads 0x80-0x9f as its own characters', async () => {
    const dir = await tempDir();
    const bytes = Buffer.concat([Buffer.from('id,name,price\n1,'), Buffer.from([0x52, 0xe9, 0x6e, 0xe9, 0x65]), Buffer.from(','), Buffer.from([0x80, 0x35, 0x20, 0x93, 0x6f, 0x6b, 0x94]), Buffer.from('\n')]);
    const file = await writeText(join(dir, 'legacy.csv'), bytes);

    await importOk(join(dir, 'latin1'), ['--encoding', 'latin1', file]);
    await importOk(join(dir, 'iso'), ['--encoding', 'ISO-8859-1', file]);
    await importOk(join(dir, 'cp1252'), ['--encoding', 'windows-1252', file]);

    const latin1 = [JSON.stringify({ id: '1', name: 'Rénée', price: '\u00805 \u0093ok\u0094' })];
    expect(await exportLines(join(dir, 'latin1'))).toEqual(latin1);
    expect(await exportLines(join(dir, 'iso'))).toEqual(latin1);
    expect(await exportLines(join(dir, 'cp1252'))).toEqual(['{"id":"1","name":"Rénée","price":"€5 “ok”"}']);
  });

  it('without it, the same Latin-1 bytes stay E_INVALID_UTF8 failures, never silently replaced', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'legacy.ndjson'), Buffer.concat([Buffer.from('{"id":"a"}\n{"id":"b","name":"Ren'), Buffer.from([0xe9]), Buffer.from('e"}\n{"id":"c"}\n')]));
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 2, failed: 1 });
    expect((await failuresOf(summary, dir)).map((failure) => [failure.line, failure.code])).toEqual([[2, 'E_INVALID_UTF8']]);
  });

  it('an unknown name is a usage error (exit 2) whose one line lists the names bwrite accepts', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'a.ndjson'), '{"id":"a"}\n');
    const run = await runBwrite(['import', '--store', join(dir, 'store'), '--encoding', 'ebcdic', file]);

    expect(run.code).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toContain('utf-8, latin1, iso-8859-1, windows-1252, utf-16le, utf-16be');
  });
});

describe('UTF-16 input', () => {
  // U+010A is 0A 01 in UTF-16LE: a line split on 0x0A bytes would cut it in two.
  const text = '{"id":"a","v":"Ċ and ਊ"}\n{"id":"b","v":"emoji 😀 here"}\r\n{"id":"c","v":"plain"}\n';
  const expected = ['{"id":"a","v":"Ċ and ਊ"}', '{"id":"b","v":"emoji 😀 here"}', '{"id":"c","v":"plain"}'];

  it('with a byte-order mark, little- or big-endian, is recognised without --encoding, from a file or standard input', async () => {
    const dir = await tempDir();
    const le = await writeText(join(dir, 'le.ndjson'), utf16le(BOM + text));
    const be = await writeText(join(dir, 'be.ndjson'), utf16be(BOM + text));

    await importOk(join(dir, 'le'), [le]);
    await importOk(join(dir, 'be'), [be]);
    const { run, args } = await importJson(join(dir, 'stdin'), ['-'], { input: utf16le(BOM + text) });

    expect(run.code, describeRun(args, run)).toBe(0);
    for (const store of ['le', 'be', 'stdin']) expect(await exportLines(join(dir, store)), store).toEqual(expected);
  });

  it('without a byte-order mark is read with --encoding utf-16le, as a tab-separated Excel export', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'excel.tsv'), utf16le('id\tcity\n1\tZürich\n2\tĊork\n'));

    await importOk(join(dir, 'store'), ['--encoding', 'utf-16le', file]);

    expect(await exportLines(join(dir, 'store'))).toEqual(['{"id":"1","city":"Zürich"}', '{"id":"2","city":"Ċork"}']);
  });

  it('a lone surrogate fails its own line as invalid UTF-16 and the lines around it are stored', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'lone.ndjson'), utf16le(`${BOM}{"id":"a"}\n{"id":"b","v":"\ud800x"}\n{"id":"c"}\n`));
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(await exportLines(join(dir, 'store'))).toEqual(['{"id":"a"}', '{"id":"c"}']);
    const failures = await failuresOf(summary, dir);
    expect(failures.map((failure) => [failure.line, failure.code])).toEqual([[2, 'E_INVALID_UTF8']]);
    expect(failures[0]!.error).toContain('UTF-16LE');
  });
});

describe('--resume on a transcoded file', () => {
  const first = Array.from({ length: 300 }, (_, i) => `{"id":"k${String(i).padStart(4, '0')}","v":"é ${i}"}\n`).join('');
  const more = Array.from({ length: 200 }, (_, i) => `{"id":"m${String(i).padStart(4, '0')}","v":"ü ${i}"}\n`).join('');
  const all = (first + more).trimEnd().split('\n');

  it.each([
    ['latin1', (t: string) => Buffer.from(t, 'latin1'), ['--encoding', 'latin1']],
    ['UTF-16LE with a byte-order mark', (t: string) => utf16le(t), []],
  ] as const)('%s: skips the lines an earlier run committed and stores what was appended since', async (_name, encode, flags) => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const isUtf16 = flags.length === 0;
    const file = await writeText(join(dir, 'grows.ndjson'), encode((isUtf16 ? BOM : '') + first));

    expect(await importOk(store, ['--resume', ...flags, file])).toMatchObject({ written: 300 });
    await appendFile(file, encode(more));
    const resumed = await importOk(store, ['--resume', ...flags, file]);

    expect(resumed).toMatchObject({ read: 500, skipped: 300, written: 200, failed: 0 });
    expect(await exportLines(store)).toEqual(all);
  });
});
