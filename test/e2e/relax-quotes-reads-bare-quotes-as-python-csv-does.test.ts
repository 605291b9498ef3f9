// --relax-quotes: a quote inside an unquoted CSV field is data. Python's csv module, run on the same
// file, is the oracle for what each row holds.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportValues, importJson, importOk } from '../helpers/store.js';
import { failuresOf } from '../helpers/robustness.js';

const CSV = [
  'id,size,position,note',
  '1,12" pipe,37°36\'37.8"N,plain',
  '2,"quoted, with a comma",a"b"c,"he said ""hi"""',
  '3,x",y"z,5\'10"',
  '4,"multi',
  'line ""quoted""",""""," ends with a quote"""',
  '5,,"",a """ b',
].join('\r\n');

/** The rows Python's csv module reads from `file`, as objects keyed by its header. */
function pythonRows(file: string): Record<string, string>[] {
  const script = 'import csv, json, sys\nwith open(sys.argv[1], newline="", encoding="utf-8") as f:\n    print(json.dumps(list(csv.DictReader(f))))';
  return JSON.parse(execFileSync('python3', ['-c', script, file]).toString('utf8')) as Record<string, string>[];
}

describe('--relax-quotes', () => {
  it('stores every row as Python’s csv module reads it, quotes inside unquoted fields kept as data', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'bare-quotes.csv'), `${CSV}\r\n`);
    const oracle = pythonRows(file);
    expect(oracle).toHaveLength(5);

    const summary = await importOk(join(dir, 'store'), ['--relax-quotes', file]);

    expect(summary).toMatchObject({ written: 5, failed: 0 });
    expect(await exportValues(join(dir, 'store'))).toEqual(oracle);
  });

  it('is off by default: each row with a bare quote fails alone as E_CSV, naming the flag, and the others are stored', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'bare-quotes.csv'), `${CSV}\r\n`);
    const { run, summary, args } = await importJson(join(dir, 'store'), [file], { cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    const failures = await failuresOf(summary, dir);
    expect(failures.map((failure) => [failure.line, failure.code])).toEqual([
      [2, 'E_CSV'],
      [3, 'E_CSV'],
      [4, 'E_CSV'],
      [7, 'E_CSV'],
    ]);
    expect(failures[0]!.error).toContain('--relax-quotes');
    expect((await exportValues(join(dir, 'store'))).map((row) => (row as { id: string }).id)).toEqual(['4']);
  });

  it('is a CSV option: with only NDJSON input it is a usage error', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'a.ndjson'), '{"id":"a"}\n');
    const run = await runBwrite(['import', '--store', join(dir, 'store'), '--relax-quotes', file]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--relax-quotes applies to CSV and TSV input only');
  });
});
