import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, runBwrite, tempDir } from '../helpers/cli.js';
import { describeRun, expectErrorLine } from '../helpers/store.js';

describe('a bad invocation exits 2 with one error line', () => {
  it('refuses import with no FILE, even with an empty standard input', async () => {
    const dir = await tempDir();
    const args = ['import', '--store', join(dir, 'store')];

    const run = await runBwrite(args, { input: '' });

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
  });

  it('refuses an unknown option', async () => {
    const dir = await tempDir();
    const args = ['import', '--store', join(dir, 'store'), '--no-such-option', fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toContain('--no-such-option');
  });

  it('refuses an unknown command', async () => {
    const run = await runBwrite(['frobnicate']);

    expect(run.code, describeRun(['frobnicate'], run)).toBe(2);
    expectErrorLine(run);
  });

  it('refuses an input file that does not exist, naming it', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'nope.ndjson');
    const args = ['import', '--store', join(dir, 'store'), missing];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toContain('nope.ndjson');
  });

  it('refuses a file whose format cannot be told from its name when --format is not given', async () => {
    const dir = await tempDir();
    const file = join(dir, 'data.txt');
    await writeFile(file, '{"id":"a"}\n');
    const args = ['import', '--store', join(dir, 'store'), file];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
  });

  it('refuses an input that is a directory', async () => {
    const dir = await tempDir();
    const inputDir = join(dir, 'input.ndjson');
    await mkdir(inputDir);
    const args = ['import', '--store', join(dir, 'store'), inputDir];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
  });

  const badValues: [string, string[]][] = [
    ['--concurrency 0', ['--concurrency', '0']],
    ['--concurrency abc', ['--concurrency', 'abc']],
    ['--concurrency -3', ['--concurrency=-3']],
    ['--concurrency 2.5', ['--concurrency', '2.5']],
    ['--batch-size 0', ['--batch-size', '0']],
    ['--batch-size lots', ['-b', 'lots']],
    ['--retries -1', ['--retries=-1']],
    ['--retry-delay soon', ['--retry-delay', 'soon']],
    ['--max-errors abc', ['--max-errors', 'abc']],
    ['--inline-max -5', ['--inline-max=-5']],
    ['--format xml', ['--format', 'xml']],
    ['--on-conflict merge', ['--on-conflict', 'merge']],
    ['--progress loud', ['--progress', 'loud']],
    ['--max-record-size huge', ['--max-record-size', 'huge']],
    ["--type ''", ['--type', '']],
    ['--type with a line end', ['--type', 'json\nfake row']],
    ['--type with a control character', ['--type', 'a\u0007b']],
    ['--type of 65 characters', ['--type', 't'.repeat(65)]],
  ];
  it.each(badValues)('refuses a bad value: %s', async (_label, option) => {
    const dir = await tempDir();
    const args = ['import', '--store', join(dir, 'store'), ...option, fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
  });

  it.each([
    ["--store ''", ['--store', ''], {}],
    ['BWRITE_STORE empty', [], { BWRITE_STORE: '' }],
  ])('refuses an empty store (%s) instead of making the current directory a store', async (_label, option, env) => {
    const dir = await tempDir();
    await writeFile(join(dir, 'in.ndjson'), '{"id":"a"}\n');
    for (const command of [['import', ...option, 'in.ndjson'], ['stats', ...option], ['get', ...option, 'a']]) {
      const run = await runBwrite(command, { cwd: dir, env });

      expect(run.code, describeRun(command, run)).toBe(2);
      expectErrorLine(run);
      expect(run.stderr).toContain('current directory');
    }
    expect(await readdir(dir)).toEqual(['in.ndjson']);
  });

  it('accepts a --type of 64 printable characters, and shows it in stats on one line', async () => {
    const dir = await tempDir();
    const tag = `application/x-${'é'.repeat(50)}`;
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--type', tag, '-q', fixture('people.ndjson')];

    const run = await runBwrite(args);
    const stats = await runBwrite(['stats', '--store', store]);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(stats.stdout).toContain(`by type      ${tag}: 20\n`);
  });

  it('refuses --columns without --no-header, saying to add it, and imports nothing', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = join(dir, 'rows.csv');
    await writeFile(file, 'r1,one\nr2,two\n');
    const args = ['import', '--store', store, '--columns', 'id,word', file];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toContain('--no-header');
    expect(existsSync(store)).toBe(false);
  });

  const csvOnlyOptions: [string, string[]][] = [
    ['--no-header', ['--no-header', '--columns', 'id']],
    ['--columns', ['--no-header', '--columns', 'id']],
    ['--infer-types', ['--infer-types']],
    ['--delimiter', ['--delimiter', ';']],
  ];
  it.each(csvOnlyOptions)('refuses the CSV-only option %s on NDJSON input, naming it', async (name, option) => {
    const dir = await tempDir();
    const args = ['import', '--store', join(dir, 'store'), ...option, fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toContain(name);
  });

  it('accepts a CSV-only option when one of several inputs is CSV', async () => {
    const dir = await tempDir();
    const csv = join(dir, 'typed.csv');
    await writeFile(csv, 'id,n\nc1,7\n');
    const args = ['import', '--store', join(dir, 'store'), '--infer-types', fixture('people.ndjson'), csv];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect((await runBwrite(['get', '--store', join(dir, 'store'), 'c1'])).stdout).toBe('{"id":"c1","n":7}\n');
  });

  it('refuses retry without a FAILURES_FILE', async () => {
    const dir = await tempDir();
    const args = ['retry', '--store', join(dir, 'store')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
  });
});

describe('a store that cannot be used exits 3 with one error line', () => {
  it('refuses a --store that is a regular file', async () => {
    const dir = await tempDir();
    const notAStore = join(dir, 'store');
    await writeFile(notAStore, 'I am a file\n');
    const args = ['import', '--store', notAStore, fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(3);
    expectErrorLine(run);
  });

  it('refuses a --store that cannot be created because its parent is a file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'parent'), 'file\n');
    const args = ['import', '--store', join(dir, 'parent', 'store'), fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(3);
    expectErrorLine(run);
  });

  it('refuses a non-empty directory that is not a bwrite store, and leaves it untouched', async () => {
    const dir = await tempDir();
    const other = join(dir, 'photos');
    await mkdir(other);
    await writeFile(join(other, 'holiday.jpg'), 'not really a jpeg');
    const args = ['import', '--store', other, fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(3);
    expectErrorLine(run);
    expect(await readdir(other)).toEqual(['holiday.jpg']);
  });

  it('refuses a directory whose index.db is not a database', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await mkdir(store);
    await writeFile(join(store, 'index.db'), 'this is not SQLite at all, just text padding the header out\n'.repeat(20));
    const args = ['import', '--store', store, fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(3);
    expectErrorLine(run);
  });

  it('accepts an existing empty directory as a new store', async () => {
    const dir = await tempDir();
    const store = join(dir, 'empty');
    await mkdir(store);
    const args = ['import', '--store', store, fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
  });
});
