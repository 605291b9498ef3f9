import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';

describe('--durable', () => {
  it.each([['blobs', ['--inline-max', '0']], ['inline values', []]])('stores every record (%s) and leaves a store that verifies', async (_label, extra) => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const input = await writeText(join(dir, 'in.ndjson'), ndjson(1200, (i) => ({ id: `d${i}`, v: i })));
    const run = await runBwrite(['import', input, '--store', store, '--durable', '--batch-size', '100', '--json', '-q', ...extra]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'ok', read: 1200, written: 1200 });
    expect((await runBwrite(['verify', '--deep', '--store', store])).code).toBe(0);
    const got = await runBwrite(['get', 'd1199', '--store', store]);
    expect(JSON.parse(got.stdout)).toEqual({ id: 'd1199', v: 1199 });
  });
});
