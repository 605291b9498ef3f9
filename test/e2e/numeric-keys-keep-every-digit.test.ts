import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, getValue, importJson, importOk, readFailures } from '../helpers/store.js';

/** `export --with-keys` lines as key → value text, without JSON.parse rounding the numbers. */
async function keyedTexts(store: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const line of await exportLines(store, ['--with-keys'])) {
    const match = /^\{"key":("(?:[^"\\]|\\.)*"),"value":(.*)\}$/.exec(line);
    expect(match, line).not.toBeNull();
    map.set(JSON.parse(match![1]!) as string, match![2]!);
  }
  return map;
}

describe('a numeric key keeps every digit it was written with', () => {
  it('two 64-bit ids that differ only past 2^53 are two keys, not one overwriting the other', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":9007199254740993,"x":1}\n{"id":9007199254740992,"x":2}\n{"id":-12345678901234567890,"x":3}\n');

    const summary = await importOk(store, [file]);

    expect(summary).toMatchObject({ read: 3, written: 3, failed: 0 });
    expect(await keyedTexts(store)).toEqual(
      new Map([
        ['-12345678901234567890', '{"id":-12345678901234567890,"x":3}'],
        ['9007199254740992', '{"id":9007199254740992,"x":2}'],
        ['9007199254740993', '{"id":9007199254740993,"x":1}'],
      ]),
    );
    expect((await getValue(store, '9007199254740993')).stdout).toBe('{"id":9007199254740993,"x":1}\n');
  });

  it('a number that is not a safe integer is keyed by its text as written: 1e400, 1.50, 0.1', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":1e400}\n{"id":1.50}\n{"id":0.1}\n{"s":"1e999 \\" 7e400","id":2E+400}\n');

    await importOk(store, [file]);

    expect([...(await keyedTexts(store)).keys()]).toEqual(['0.1', '1.50', '1e400', '2E+400']);
  });

  it('a safe integer is keyed by its plain decimal form: 42, 42.0 and 4.2e1 are one key, the last kept', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":42,"n":1}\n{"id":42.0,"n":2}\n{"id":4.2e1,"n":3}\n');

    const summary = await importOk(store, [file]);

    expect(summary).toMatchObject({ read: 3, written: 3 });
    expect(await keyedTexts(store)).toEqual(new Map([['42', '{"id":4.2e1,"n":3}']]));
  });

  it('keeps the digits in a record of 64 KiB or more and in a template', async () => {
    const dir = await tempDir();
    const payload = 'p'.repeat(70_000);
    const large = await writeText(join(dir, 'large.ndjson'), `{"id":18446744073709551615,"payload":"${payload}"}\n{"id":18446744073709551614,"payload":"${payload}"}\n`);
    const nested = await writeText(join(dir, 'nested.ndjson'), '{"a":{"b":9007199254740993},"c":1.10}\n{"a":{"b":9007199254740992},"c":1.1}\n');

    await importOk(join(dir, 'store1'), [large]);
    await importOk(join(dir, 'store2'), ['--key', 'k:{a.b}:{c}', nested]);

    expect([...(await keyedTexts(join(dir, 'store1'))).keys()]).toEqual(['18446744073709551614', '18446744073709551615']);
    expect([...(await keyedTexts(join(dir, 'store2'))).keys()]).toEqual(['k:9007199254740992:1.1', 'k:9007199254740993:1.10']);
  });

  it('CSV with --infer-types keys big integers and long decimals by their exact field text', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.csv'), 'id,v\n9007199254740993,a\n9007199254740992,b\n1.50,c\n42.0,d\n9007199254740993.0,e\n');

    const summary = await importOk(store, ['--infer-types', file]);

    expect(summary).toMatchObject({ read: 5, written: 5 });
    // What a number would round (big integers, 9007199254740993.0) stays a string; 1.50 is the number 1.5, keyed as written.
    expect(await keyedTexts(store)).toEqual(
      new Map([
        ['1.50', '{"id":1.5,"v":"c"}'],
        ['42', '{"id":42,"v":"d"}'],
        ['9007199254740992', '{"id":"9007199254740992","v":"b"}'],
        ['9007199254740993', '{"id":"9007199254740993","v":"a"}'],
        ['9007199254740993.0', '{"id":"9007199254740993.0","v":"e"}'],
      ]),
    );
  });
});

describe('a failed record keeps its digits through the failures file and bwrite retry', () => {
  it('a conflict on a record with 64-bit numbers is retried into exactly the text that was read', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const line = '{"id":9007199254740993,"n":18446744073709551615}';
    await importOk(store, [await writeText(join(dir, 'first.ndjson'), '{"id":9007199254740993,"n":0}\n')]);
    const { run, summary, args } = await importJson(store, ['--on-conflict', 'fail', await writeText(join(dir, 'second.ndjson'), `${line}\n`)]);
    expect(run.code, describeRun(args, run)).toBe(1);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toMatchObject([{ line: 1, code: 'E_CONFLICT', key: '9007199254740993', raw: line }]);

    const retried = await importJson(store, [summary.failuresFile!], {}, 'retry');

    expect(retried.run.code, describeRun(retried.args, retried.run)).toBe(0);
    expect((await getValue(store, '9007199254740993')).stdout).toBe(`${line}\n`);
  });

  it('a record missing its key keeps its digits, and is keyed exactly once its raw text is fixed', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { summary } = await importJson(store, [await writeText(join(dir, 'in.ndjson'), '{"ID":18446744073709551615}\n')]);
    const [failure] = await readFailures(summary.failuresFile, dir);
    expect(failure).toMatchObject({ code: 'E_KEY_MISSING', raw: '{"ID":18446744073709551615}' });
    const fixed = await writeText(join(dir, 'fixed.ndjson'), `${JSON.stringify({ ...failure, raw: '{"id":18446744073709551615}' })}\n`);

    const retried = await importJson(store, [fixed], {}, 'retry');

    expect(retried.run.code, describeRun(retried.args, retried.run)).toBe(0);
    expect((await getValue(store, '18446744073709551615')).stdout).toBe('{"id":18446744073709551615}\n');
  });
});

describe('an empty key is invalid, a missing one is missing', () => {
  it('fails {"id":""} with E_KEY_INVALID and {} or {"id":null} with E_KEY_MISSING, each alone', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":""}\n{"x":1}\n{"id":null}\n{"id":"ok"}\n');

    const { run, summary, args } = await importJson(store, [file]);

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(run.stderr).toContain("in.ndjson:1: E_KEY_INVALID: the key field 'id' is empty");
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map((f) => [f.line, f.code, f.error])).toEqual([
      [1, 'E_KEY_INVALID', "the key field 'id' is empty"],
      [2, 'E_KEY_MISSING', "the record has no key field 'id'"],
      [3, 'E_KEY_MISSING', "the key field 'id' is null"],
    ]);
    expect([...(await keyedTexts(store)).keys()]).toEqual(['ok']);
  });
});
