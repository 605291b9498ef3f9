import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { expectVerifies } from '../helpers/robustness.js';
import { describeRun, exportLines, getValue, importJson, readFailures } from '../helpers/store.js';

// Lines of 16 KiB and more are checked without decoding their long strings (src/input/json-skeleton.ts):
// what a user sees must be exactly what the whole-line parse gives.
const long = (seed: string, size = 100_000) => seed.repeat(Math.ceil(size / seed.length));

describe('records of 16 KiB and more are stored and failed exactly like small ones', () => {
  it('stores large records byte for byte, and fails the bad ones alone with the whole-line parse’s code and message', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const good = {
      ascii: `{"id":"big1","payload":"${long('abc')}"}`,
      escapes: `{"payload":"${long('x\\"y\\\\z\\u00e9\\n')}", "id" : "big2", "n": 1.50}`,
      utf8: `{"id":"big3","payload":"${long('é😀ü')}","tags":["${long('t', 9000)}"]}`,
      keyAfterLong: `{"${long('k', 10_000)}":1,"payload":"${long('q')}","id":42}`,
    };
    const bad: Record<string, { text: string; code: string }> = {
      truncated: { text: `{"id":"bad1","payload":"${long('abc')}`, code: 'E_PARSE' },
      control: { text: `{"id":"bad2","payload":"${long('abc')}\u0001"}`, code: 'E_PARSE' },
      badEscape: { text: `{"id":"bad3","payload":"${long('abc')}\\q"}`, code: 'E_PARSE' },
      trailing: { text: `{"id":"bad4","payload":"${long('abc')}"} x`, code: 'E_PARSE' },
      array: { text: `["${long('abc')}"]`, code: 'E_NOT_OBJECT' },
      string: { text: `"${long('abc')}"`, code: 'E_NOT_OBJECT' },
      noKey: { text: `{"payload":"${long('abc')}"}`, code: 'E_KEY_MISSING' },
      longKey: { text: `{"id":"${long('k', 20_000)}","payload":"x"}`, code: 'E_KEY_TOO_LONG' },
      keyIsObject: { text: `{"id":{"a":"${long('abc')}"}}`, code: 'E_KEY_INVALID' },
    };
    const lines = [good.ascii, bad.truncated!.text, good.escapes, bad.control!.text, bad.badEscape!.text, good.utf8, bad.trailing!.text, bad.array!.text, bad.string!.text, bad.noKey!.text, bad.longKey!.text, bad.keyIsObject!.text, good.keyAfterLong];
    const invalidUtf8 = Buffer.concat([Buffer.from(`{"id":"bad5","payload":"${long('abc')}`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const file = join(dir, 'large.ndjson');
    await writeFile(file, Buffer.concat([Buffer.from(lines.join('\n') + '\n'), invalidUtf8, Buffer.from('\n')]));

    const { run, summary, args } = await importJson(store, ['--progress', 'none', file]);

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ read: 14, written: 4, failed: 10 });
    for (const [key, text] of [['big1', good.ascii], ['big2', good.escapes], ['big3', good.utf8], ['42', good.keyAfterLong]] as const) {
      const got = await getValue(store, key);
      expect(got.code, key).toBe(0);
      expect(got.stdout === `${text}\n`, `get ${key} returns the line byte for byte`).toBe(true);
    }

    const failures = await readFailures(summary.failuresFile, dir);
    const byLine = new Map(failures.map((failure) => [failure.line, failure]));
    for (const { text, code } of Object.values(bad)) {
      const failure = byLine.get(lines.indexOf(text) + 1);
      expect(failure?.code, text.slice(0, 60)).toBe(code);
      if (code === 'E_PARSE') {
        let reason = '';
        try {
          JSON.parse(text);
        } catch (error) {
          reason = (error as Error).message;
        }
        expect(failure?.error).toBe(`not valid JSON: ${reason}`);
        expect(failure?.raw === text).toBe(true);
      }
    }
    expect(byLine.get(14)?.code).toBe('E_INVALID_UTF8');
  });
});

describe('long lines share a few buffers, taken back only once their batch is done', () => {
  it('stores every value exactly when far more long lines pass than buffers are kept', async () => {
    const dir = await tempDir();
    // 240 distinct lines of ~40 KB in batches of 8: the buffers of the first batches are used again
    // for later lines, so a buffer taken back before its value reached the store would show here.
    const lines = Array.from({ length: 240 }, (_, i) => JSON.stringify({ id: `k${String(i).padStart(3, '0')}`, payload: long(`${i}-${'abcdefghij'[i % 10]}`, 40_000) }));
    await expectStoredExactly(dir, lines, lines, { batchSize: 8, inlineMaxes: ['0', '65536'], failed: 0 });
  });
});

describe('records are views of the read buffers, which are read into again only once their records are stored', () => {
  it('stores every value exactly when a file is many read buffers long, with bad and blank lines among the records', async () => {
    const dir = await tempDir();
    // ~6 MB in 1 MiB reads and batches of 7: the first read buffers are read into again while
    // later batches are still being written, so a buffer reused before its records are stored
    // (or a blank or failed line counted as lent) would show in the export or in verify --deep.
    const good: string[] = [];
    const lines: string[] = [];
    for (let i = 0; i < 8000; i++) {
      if (i % 997 === 5) lines.push('');
      if (i % 1499 === 3) lines.push('{"id": "broken", ');
      const line = JSON.stringify({ id: `k${String(i).padStart(4, '0')}`, payload: long(`${i}.`, 700 + (i % 13)) });
      good.push(line);
      lines.push(line);
    }
    await expectStoredExactly(dir, lines, good, { batchSize: 7, inlineMaxes: ['0', '16384'], failed: 6 });
  });
});

/**
 * Imports `lines` once per --inline-max, in small batches, and checks that exactly `good` is
 * stored (export in key order, verify --deep) and the rest failed.
 */
async function expectStoredExactly(dir: string, lines: string[], good: string[], options: { batchSize: number; inlineMaxes: string[]; failed: number }): Promise<void> {
  const file = join(dir, 'input.ndjson');
  await writeFile(file, lines.join('\n') + '\n');
  for (const inlineMax of options.inlineMaxes) {
    const store = join(dir, `store-${inlineMax}`);
    const { run, summary, args } = await importJson(store, ['--progress', 'none', '--batch-size', String(options.batchSize), '--inline-max', inlineMax, file]);
    expect(run.code, describeRun(args, run)).toBe(options.failed > 0 ? 1 : 0);
    expect(summary).toMatchObject({ read: good.length + options.failed, written: good.length, failed: options.failed });
    expect(await exportLines(store), `--inline-max ${inlineMax}`).toEqual(good);
    await expectVerifies(store, `--inline-max ${inlineMax}`, true);
  }
}
