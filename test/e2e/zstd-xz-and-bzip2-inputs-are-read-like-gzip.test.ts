// zstd, xz and bzip2 input, made by the Debian tools, is recognised by its magic bytes (file or
// standard input, whatever its name) and damage keeps the records before it, like gzip.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, ndjson, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, importJson, importOk } from '../helpers/store.js';
import { expectCutFileResumesOnceCompleted, expectOnlyBwriteLines, failuresOf, pad } from '../helpers/robustness.js';

const TOOLS = [
  { name: 'zstd', suffix: 'zst', argv: ['zstd', '-q', '-c'] },
  { name: 'xz', suffix: 'xz', argv: ['xz', '-c'] },
  // 100 kB blocks: bzip2 decodes a whole block at a time, so a cut keeps only the blocks before it.
  { name: 'bzip2', suffix: 'bz2', argv: ['bzip2', '-1', '-c'] },
] as const;

/** `text` compressed by the real command-line tool. */
function compress(argv: readonly string[], text: string | Buffer): Buffer {
  return execFileSync(argv[0]!, argv.slice(1), { input: text, maxBuffer: 256 * 1024 * 1024 });
}

const records = ndjson(20_000, (i) => ({ id: `r${pad(i)}`, n: i, s: `value ${i} ${'x'.repeat(i % 40)}` }));
const lines = linesOf(records);

describe.each(TOOLS)('$name input', ({ name, suffix, argv }) => {
  it(`is read from a .ndjson.${suffix} file, from standard input and from a file whose name says nothing of it`, async () => {
    const dir = await tempDir();
    const packed = compress(argv, records);
    const named = await writeText(join(dir, `records.ndjson.${suffix}`), packed);
    const disguised = await writeText(join(dir, 'disguised.ndjson'), packed);

    await importOk(join(dir, 'named'), [named]);
    await importOk(join(dir, 'disguised'), [disguised]);
    const { run, args } = await importJson(join(dir, 'stdin'), ['-'], { input: packed });

    expect(run.code, describeRun(args, run)).toBe(0);
    for (const store of ['named', 'disguised', 'stdin']) expect(await exportLines(join(dir, store)), store).toEqual(lines);
  });

  it(`tells the format of people.csv.${suffix} from the name under the compression suffix`, async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, `people.csv.${suffix}`), compress(argv, 'id,name\n1,Ada\n2,Émile\n'));

    await importOk(join(dir, 'store'), [file]);

    expect(await exportLines(join(dir, 'store'))).toEqual(['{"id":"1","name":"Ada"}', '{"id":"2","name":"Émile"}']);
  });

  it('cut in the middle: the records before the cut are stored exactly, and the cut is one E_READ at the next line', async () => {
    const dir = await tempDir();
    const whole = compress(argv, records);
    const file = await writeText(join(dir, `cut.ndjson.${suffix}`), whole.subarray(0, Math.floor(whole.length * 0.6)));
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expectOnlyBwriteLines(run.stderr, describeRun(args, run));
    const stored = await exportLines(join(dir, 'store'));
    expect(stored.length, 'what decoded before the cut is kept').toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(lines.length);
    expect(stored, 'every stored value is a whole original record').toEqual(lines.slice(0, stored.length));
    const failures = await failuresOf(summary, dir);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'E_READ', line: stored.length + 1 });
    expect(failures[0]!.error).toContain(name);
  });

  it('corrupted in the middle: never a wrong record, what came before the damage is kept, the damage is one E_READ', async () => {
    const dir = await tempDir();
    const damaged = Buffer.from(compress(argv, records));
    const middle = Math.floor(damaged.length / 2);
    for (let i = 0; i < 64; i++) damaged[middle + i] = damaged[middle + i]! ^ 0x5a;
    const file = await writeText(join(dir, `corrupt.ndjson.${suffix}`), damaged);
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    const stored = await exportLines(join(dir, 'store'));
    expect(stored.length).toBeLessThan(lines.length);
    expect(stored, 'every stored value is a whole original record').toEqual(lines.slice(0, stored.length));
    const failures = await failuresOf(summary, dir);
    expect(failures.map((failure) => failure.code)).toEqual(['E_READ']);
  });
});

describe('a zstd file that ends too soon', () => {
  it('fails one E_READ item without moving the watermark past it, so once the file is completed in place --resume stores every record', async () => {
    await expectCutFileResumesOnceCompleted(await tempDir(), compress(TOOLS[0].argv, records), 'zst', lines.length);
  });

  it('a zstd file resumed after more records were appended (a second frame) skips what was committed and stores the rest', async () => {
    const work = await tempDir();
    const store = join(work, 'store');
    const half = lines.length / 2;
    const first = `${lines.slice(0, half).join('\n')}\n`;
    const file = await writeText(join(work, 'log.ndjson.zst'), compress(TOOLS[0].argv, first));
    expect((await importOk(store, ['--resume', file])).written).toBe(half);

    await writeFile(file, Buffer.concat([await readFile(file), compress(TOOLS[0].argv, `${lines.slice(half).join('\n')}\n`)]));
    const resumed = await importOk(store, ['--resume', file]);

    expect(resumed).toMatchObject({ read: lines.length, skipped: half, written: lines.length - half });
    expect(await exportLines(store)).toEqual(lines);
  });
});
