import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { linesOf, ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, getValue, importJson } from '../helpers/store.js';
import { expectAccountedFor, expectOnlyBwriteLines, failuresOf, runMeasured, seededRandom, treeOf } from '../helpers/robustness.js';

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const bytes = (...parts: (string | number[] | Buffer)[]) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? utf8(part) : Buffer.isBuffer(part) ? part : Buffer.from(part))));

interface HostileCase {
  /** What the test shows, as a sentence. */
  name: string;
  file: string;
  content: Buffer;
  args?: string[];
  /** The bad records: their 1-based line and the error codes acceptable for them. */
  failures: { line: number; codes: string[] }[];
  /** The good records: key → the exact stored text. */
  stored: Record<string, string>;
}

const DEPTH = 100_000;
const FIVE_MB = 5 * 1024 * 1024;

/** A record padded to exactly `size` bytes. */
function recordOfSize(id: string, size: number): string {
  const shell = JSON.stringify({ id, s: '' });
  return JSON.stringify({ id, s: 'x'.repeat(size - shell.length) });
}

/** Seeded binary garbage with no newline in it: one physical line. */
function garbage(length: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    let byte = Math.floor(random() * 256);
    if (byte === 0x0a) byte = 0x00;
    out[i] = byte;
  }
  return out;
}

const cases: HostileCase[] = [
  {
    name: 'invalid UTF-8 (0xff 0xfe inside a string) fails E_INVALID_UTF8 and is never stored with U+FFFD',
    file: 'utf8.ndjson',
    content: bytes('{"id":"u1","s":"ok"}\n{"id":"u2","s":"a', [0xff, 0xfe], 'b"}\n{"id":"u3","s":"ok"}\n'),
    failures: [{ line: 2, codes: ['E_INVALID_UTF8'] }],
    stored: { u1: '{"id":"u1","s":"ok"}', u3: '{"id":"u3","s":"ok"}' },
  },
  {
    name: 'overlong and surrogate UTF-8 sequences fail E_INVALID_UTF8',
    file: 'overlong.ndjson',
    content: bytes('{"id":"o1"}\n{"id":"o2","s":"', [0xc0, 0xaf], '"}\n{"id":"o3","s":"', [0xed, 0xa0, 0x80], '"}\n{"id":"o4"}\n'),
    failures: [
      { line: 2, codes: ['E_INVALID_UTF8'] },
      { line: 3, codes: ['E_INVALID_UTF8'] },
    ],
    stored: { o1: '{"id":"o1"}', o4: '{"id":"o4"}' },
  },
  {
    name: 'invalid UTF-8 in a CSV field fails that row with E_INVALID_UTF8',
    file: 'utf8.csv',
    content: bytes('id,name\nc1,ok\nc2,a', [0xff, 0xfe], 'b\nc3,ok\n'),
    failures: [{ line: 3, codes: ['E_INVALID_UTF8'] }],
    stored: { c1: '{"id":"c1","name":"ok"}', c3: '{"id":"c3","name":"ok"}' },
  },
  {
    name: 'raw NUL bytes fail E_PARSE, while an escaped \\u0000 in a value is stored verbatim',
    file: 'nul.ndjson',
    content: bytes('{"id":"n1"}\n{"id":"n2","s":"a', [0], 'b"}\n', [0, 0, 0, 0], '\n{"id":"n4","s":"a\\u0000b"}\n{"id":"n5"}\n'),
    failures: [
      { line: 2, codes: ['E_PARSE'] },
      { line: 3, codes: ['E_PARSE'] },
    ],
    stored: { n1: '{"id":"n1"}', n4: '{"id":"n4","s":"a\\u0000b"}', n5: '{"id":"n5"}' },
  },
  {
    name: 'a 5 MB line over --max-record-size 1000 fails E_RECORD_TOO_LARGE; a record of exactly 1000 bytes is stored, one of 1001 is not',
    file: 'large.ndjson',
    args: ['--max-record-size', '1000'],
    content: bytes('{"id":"r1"}\n{"id":"big","s":"', 'x'.repeat(FIVE_MB), '"}\n{"id":"r3"}\n', recordOfSize('edge', 1000), '\n', recordOfSize('over', 1001), '\n{"id":"r6"}\n'),
    failures: [
      { line: 2, codes: ['E_RECORD_TOO_LARGE'] },
      { line: 5, codes: ['E_RECORD_TOO_LARGE'] },
    ],
    stored: { r1: '{"id":"r1"}', r3: '{"id":"r3"}', edge: recordOfSize('edge', 1000), r6: '{"id":"r6"}' },
  },
  {
    name: 'a line of binary garbage fails alone',
    file: 'garbage.ndjson',
    content: bytes('{"id":"b1"}\n', garbage(4096, 42), '\n{"id":"b3"}\n'),
    failures: [{ line: 2, codes: ['E_INVALID_UTF8', 'E_PARSE'] }],
    stored: { b1: '{"id":"b1"}', b3: '{"id":"b3"}' },
  },
  {
    name: 'JSON arrays, numbers, strings, null and booleans fail E_NOT_OBJECT',
    file: 'scalars.ndjson',
    content: bytes('{"id":"s1"}\n[1,2]\n42\n"text"\nnull\ntrue\n{"id":"s7"}\n'),
    failures: [2, 3, 4, 5, 6].map((line) => ({ line, codes: ['E_NOT_OBJECT'] })),
    stored: { s1: '{"id":"s1"}', s7: '{"id":"s7"}' },
  },
  {
    name: 'JSON nested 100k deep fails alone, unclosed or as an array, without a stack overflow',
    file: 'deep.ndjson',
    content: bytes('{"id":"d1"}\n', '['.repeat(DEPTH), '\n', '{"a":'.repeat(DEPTH), '\n', '['.repeat(DEPTH) + ']'.repeat(DEPTH), '\n{"id":"d5"}\n'),
    failures: [
      { line: 2, codes: ['E_PARSE'] },
      { line: 3, codes: ['E_PARSE'] },
      { line: 4, codes: ['E_NOT_OBJECT', 'E_PARSE'] },
    ],
    stored: { d1: '{"id":"d1"}', d5: '{"id":"d5"}' },
  },
  {
    name: 'ragged CSV rows fail E_CSV_COLUMNS',
    file: 'ragged.csv',
    content: bytes('id,a\nr1,1\nr2,2,extra\nr3\nr4,4\n'),
    failures: [
      { line: 3, codes: ['E_CSV_COLUMNS'] },
      { line: 4, codes: ['E_CSV_COLUMNS'] },
    ],
    stored: { r1: '{"id":"r1","a":"1"}', r4: '{"id":"r4","a":"4"}' },
  },
  {
    name: 'a CSV quote left open at the end of the file fails E_CSV',
    file: 'unclosed.csv',
    content: bytes('id,a\nq1,1\nq2,"never closed\nq3,3\n'),
    failures: [{ line: 3, codes: ['E_CSV'] }],
    stored: { q1: '{"id":"q1","a":"1"}' },
  },
  {
    name: 'NDJSON mixing \\n and \\r\\n line ends keeps line numbers right and stores no \\r',
    file: 'mixed.ndjson',
    content: bytes('{"id":"m1"}\r\n{"id":"m2"}\n{"id":"m3"}\r\n{not json\r\n{"id":"m5"}\n\r\n{"id":"m7"}'),
    failures: [{ line: 4, codes: ['E_PARSE'] }],
    stored: { m1: '{"id":"m1"}', m2: '{"id":"m2"}', m3: '{"id":"m3"}', m5: '{"id":"m5"}', m7: '{"id":"m7"}' },
  },
  {
    name: 'a gzip file of several members is read to the end of the last member',
    file: 'members.ndjson.gz',
    content: Buffer.concat([gzipSync('{"id":"g1"}\n{"id":"g2"}\n'), gzipSync('{"id":"g3"}\n'), gzipSync(''), gzipSync('{"id":"g4"}\n')]),
    failures: [],
    stored: { g1: '{"id":"g1"}', g2: '{"id":"g2"}', g3: '{"id":"g3"}', g4: '{"id":"g4"}' },
  },
  {
    name: 'an empty file imports nothing and exits 0',
    file: 'empty.ndjson',
    content: Buffer.alloc(0),
    failures: [],
    stored: {},
  },
  {
    name: 'a gzip file of nothing imports nothing and exits 0',
    file: 'empty.ndjson.gz',
    content: gzipSync(''),
    failures: [],
    stored: {},
  },
  {
    name: 'a file of blank lines imports nothing and exits 0',
    file: 'blank.ndjson',
    content: bytes('\n\r\n  \n\t\n'),
    failures: [],
    stored: {},
  },
  {
    name: 'keys like ../../x, /abs and .. are stored as keys; a key with NUL fails E_KEY_INVALID, a 5000-byte key E_KEY_TOO_LONG',
    file: 'keys.ndjson',
    content: bytes('{"id":"../../x"}\n{"id":"/abs"}\n{"id":".."}\n{"id":"a\\u0000b"}\n', JSON.stringify({ id: 'k'.repeat(5000) }), '\n{"id":"ok"}\n'),
    failures: [
      { line: 4, codes: ['E_KEY_INVALID'] },
      { line: 5, codes: ['E_KEY_TOO_LONG'] },
    ],
    stored: { '../../x': '{"id":"../../x"}', '/abs': '{"id":"/abs"}', '..': '{"id":".."}', ok: '{"id":"ok"}' },
  },
];

/** Import one hostile file and check what a user sees: exit code, summary, failures, stderr, the stored values. */
async function expectHostileCase(c: HostileCase): Promise<void> {
  const dir = await tempDir();
  const store = join(dir, 'store');
  const file = await writeText(join(dir, c.file), c.content);
  const { run, summary, args } = await importJson(store, [...(c.args ?? []), file], { cwd: dir, timeoutMs: 30_000 });
  const context = describeRun(args, run);

  expect(run.code, context).toBe(c.failures.length > 0 ? 1 : 0);
  expectAccountedFor(summary, c.name);
  expect(summary.written, context).toBe(Object.keys(c.stored).length);
  expect(summary.failed, context).toBe(c.failures.length);
  expectOnlyBwriteLines(run.stderr, context);

  const failures = await failuresOf(summary, dir);
  expect(failures.map((f) => f.line), 'failed lines').toEqual(c.failures.map((f) => f.line));
  for (const [i, failure] of failures.entries()) {
    expect(c.failures[i]!.codes, `code of line ${failure.line}`).toContain(failure.code);
    expect(failure.source).toBe(file);
    expect(failure.error).toMatch(/\S/);
    // One line on stderr names the bad record: source, line and code.
    const lines = linesOf(run.stderr).filter((line) => line.startsWith(`bwrite: ${file}:${failure.line}: ${failure.code}`));
    expect(lines, `stderr line for ${file}:${failure.line}\n${run.stderr}`).toHaveLength(1);
  }

  // Every good record here is keyed by its id, so the export (ordered by key) names them all.
  const keys = Object.keys(c.stored).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const values = await exportLines(store);
  expect(values).toEqual(keys.map((key) => c.stored[key]));
  expect(values.join('\n')).not.toContain('\uFFFD');
}

describe('hostile input fails record by record, with one error line each, and the good records around it are stored', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await expectHostileCase(c);
  });
});

describe('what a terminal shows of bad input', () => {
  it('echoes no control characters from a bad record: an ESC or BEL in a parse error is shown escaped', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'escapes.ndjson'), '{"id":"a"}\n\u001b]0;PWNED\u0007 \u001b[2J\n{"id":"b"}\n');
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 2, failed: 1 });
    expect(run.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(run.stderr).toContain('\\u001b');
    expectOnlyBwriteLines(run.stderr);
  });
});

describe('gzip damage keeps what decoded before it and reports the damage', () => {
  const records = ndjson(20_000, (i) => ({ id: `z${String(i).padStart(5, '0')}`, n: i, s: `value ${i}` }));
  const lines = linesOf(records);

  it('a gzip member followed by trailing garbage: every record of the member is stored, the garbage is at most one E_READ', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'garbage.ndjson.gz'), Buffer.concat([gzipSync(records), utf8('this is not gzip\n')]));
    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expectOnlyBwriteLines(run.stderr, describeRun(args, run));
    expect(summary.written, describeRun(args, run)).toBe(20_000);
    const failures = await failuresOf(summary, dir);
    expect(failures.length).toBeLessThanOrEqual(1);
    for (const failure of failures) expect(failure.code).toBe('E_READ');
    expect(await exportLines(store)).toEqual(lines);
  });

  it('a small gzip file with trailing garbage keeps its records too', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'small.ndjson.gz'), Buffer.concat([gzipSync('{"id":"a"}\n{"id":"b"}\n'), utf8('GARBAGE')]));
    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expectOnlyBwriteLines(run.stderr, describeRun(args, run));
    expect(await exportLines(store), describeRun(args, run)).toEqual(['{"id":"a"}', '{"id":"b"}']);
    expect(summary.written).toBe(2);
  });

  it('a gzip file cut in the middle: what decoded is stored exactly, and the truncation is reported as E_READ', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const whole = gzipSync(records);
    const file = await writeText(join(dir, 'cut.ndjson.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expectOnlyBwriteLines(run.stderr);
    const stored = await exportLines(store);
    expect(stored.length).toBeGreaterThan(1000);
    expect(stored.length).toBeLessThan(20_000);
    expect(stored, 'every stored value is a whole original record').toEqual(lines.slice(0, stored.length));
    const failures = await failuresOf(summary, dir);
    expect(failures.map((f) => f.code), 'the truncation is named').toContain('E_READ');
  });

  it('a gzip file cut inside its 8-byte trailer is reported as damaged (E_READ), its records kept', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const whole = gzipSync(records);
    const file = await writeText(join(dir, 'trailer.ndjson.gz'), whole.subarray(0, whole.length - 4));
    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expect(await exportLines(store)).toEqual(lines);
    expect(run.code, describeRun(args, run)).toBe(1);
    const failures = await failuresOf(summary, dir);
    expect(failures.map((f) => f.code)).toEqual(['E_READ']);
  });
});

describe('deeply nested records', () => {
  it('a record nested 100k deep is stored verbatim and get prints it back', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const deep = `{"id":"deep","v":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`;
    const file = await writeText(join(dir, 'deep.ndjson'), `{"id":"a"}\n${deep}\n{"id":"z"}\n`);
    const { run, args } = await importJson(store, [file]);

    expect(run.code, describeRun(args, run)).toBe(0);
    const got = await getValue(store, 'deep');
    expect(got.code).toBe(0);
    expect(got.stdout === `${deep}\n`, 'get prints the record byte for byte').toBe(true);
    expect(await exportLines(store)).toHaveLength(3);
  });

  it('a record nested 100k deep without its key fails alone with E_KEY_MISSING, and the records around it are stored', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const deep = `{"v":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`;
    const file = await writeText(join(dir, 'deep.ndjson'), `{"id":"a"}\n${deep}\n{"id":"z"}\n`);
    const { run, summary, args } = await importJson(store, [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expectOnlyBwriteLines(run.stderr);
    expect(summary).toMatchObject({ read: 3, written: 2, failed: 1 });
    expect((await failuresOf(summary, dir)).map((f) => [f.line, f.code])).toEqual([[2, 'E_KEY_MISSING']]);
    expect(await exportLines(store)).toEqual(['{"id":"a"}', '{"id":"z"}']);
  });
});

describe('__proto__ and other prototype names are plain data', () => {
  it('stores {"id":"p","__proto__":{"polluted":1}} and exports it verbatim, __proto__ an own key', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const line = '{"id":"p","__proto__":{"polluted":1}}';
    await importJson(store, [await writeText(join(dir, 'proto.ndjson'), `${line}\n{"id":"q","constructor":{"prototype":{"polluted":1}}}\n`)]);

    expect((await getValue(store, 'p')).stdout).toBe(`${line}\n`);
    expect((await exportLines(store))[0]).toBe(line);
    const [entry] = await exportLines(store, ['--with-keys']);
    const value = (JSON.parse(entry!) as { value: Record<string, unknown> }).value;
    expect(Object.keys(value)).toEqual(['id', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never takes a key from a prototype: __proto__.id, a nested __proto__ and "constructor" are missing keys', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'proto.ndjson'), '{"__proto__":{"id":"x"}}\n{"user":{"__proto__":{"id":"y"}},"id":"u"}\n{"id":"ok","user":{"id":"v"}}\n');

    const byId = await importJson(store, [file], { cwd: dir });
    expect((await failuresOf(byId.summary, dir)).map((f) => [f.line, f.code])).toEqual([[1, 'E_KEY_MISSING']]);
    const byPath = await importJson(join(dir, 'store2'), ['--key', 'user.id', file], { cwd: dir });
    expect((await failuresOf(byPath.summary, dir)).map((f) => [f.line, f.code])).toEqual([
      [1, 'E_KEY_MISSING'],
      [2, 'E_KEY_MISSING'],
    ]);
    const byCtor = await importJson(join(dir, 'store3'), ['--key', 'constructor', file], { cwd: dir });
    expect(byCtor.summary.written).toBe(0);
    expect(new Set((await failuresOf(byCtor.summary, dir)).map((f) => f.code))).toEqual(new Set(['E_KEY_MISSING']));
  });

  it('keeps a CSV column named __proto__ as a field of the row', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importJson(store, [await writeText(join(dir, 'proto.csv'), 'id,__proto__,constructor\n1,x,y\n')]);

    expect((await getValue(store, '1')).stdout).toBe('{"id":"1","__proto__":"x","constructor":"y"}\n');
  });
});

describe('keys never become file names', () => {
  it('importing keys like ../../x, /abs and .. creates nothing outside the store', async () => {
    const sandbox = await tempDir();
    const work = join(sandbox, 'a', 'b');
    const file = await writeText(join(work, 'keys.ndjson'), '{"id":"../../x"}\n{"id":"../../../x"}\n{"id":"/abs"}\n{"id":".."}\n{"id":"."}\n{"id":"blobs/../../x"}\n');
    const before = await treeOf(sandbox);
    const rootHadAbs = existsSync('/abs');

    const { run, args } = await importJson('store', [file], { cwd: work });

    expect(run.code, describeRun(args, run)).toBe(0);
    const created = (await treeOf(sandbox)).filter((path) => !before.includes(path));
    expect(created.filter((path) => !path.startsWith('a/b/store/')), 'new entries outside the store').toEqual([]);
    expect(existsSync('/abs')).toBe(rootHadAbs);
    for (const key of ['../../x', '../../../x', '/abs', '..', '.', 'blobs/../../x']) {
      expect((await runBwrite(['get', '--store', join(work, 'store'), '--', key])).stdout).toBe(`${JSON.stringify({ id: key })}\n`);
    }
  });
});

describe('a 200 MB single line through standard input', () => {
  it('fails E_RECORD_TOO_LARGE without buffering the line: the record after it is stored, memory stays under 300 MB', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const importArgs = ['import', '--store', store, '--json', '--source-name', 'huge', '-'];
    const mib = Buffer.alloc(1024 * 1024, 'a');
    const parts = ['{"id":"before"}\n{"id":"huge","s":"', ...Array.from({ length: 200 }, () => mib), '"}\n{"id":"after"}\n'];
    const { run, stderr, rssMiB } = await runMeasured(importArgs, parts);

    expect(run.code, describeRun(importArgs, { ...run, stderr })).toBe(1);
    expectOnlyBwriteLines(stderr);
    expect(stderr).toMatch(/^bwrite: huge:2: E_RECORD_TOO_LARGE/m);
    expect(await exportLines(store)).toEqual(['{"id":"after"}', '{"id":"before"}']);
    if (rssMiB !== null) expect(rssMiB, 'peak RSS in MiB').toBeLessThan(300);
  }, 90_000);
});
