import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, importJson, importOk, readFailures } from '../helpers/store.js';

const fast = ['--retry-delay', '1', '--retry-max-delay', '20'];

async function input(dir: string, n = 300): Promise<string> {
  return writeText(join(dir, 'in.ndjson'), ndjson(n, (i) => ({ id: `f${String(i).padStart(4, '0')}`, n: i, tag: `t${i % 7}` })));
}

/** The export a fault-free import of the same file makes. */
async function cleanExport(dir: string, file: string): Promise<string[]> {
  const store = join(dir, 'clean-store');
  await importOk(store, ['--inline-max', '0', file]);
  return exportLines(store);
}

describe('transient faults are retried', () => {
  it('stores every record through 20% EAGAIN on blobs and 20% SQLITE_BUSY on the index', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await input(dir);
    const env = { BWRITE_FAULTS: 'blob:EAGAIN:0.2,index:SQLITE_BUSY:0.2', BWRITE_FAULTS_SEED: '1' };

    // --retries 10 makes "every attempt failed" (0.2^11 per item) practically impossible.
    const { run, summary, args } = await importJson(store, ['--inline-max', '0', '--retries', '10', ...fast, '-b', '25', file], { env });

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', read: 300, written: 300, failed: 0 });
    expect(summary.retries).toBeGreaterThan(0);
    expect(await exportLines(store)).toEqual(await cleanExport(dir, file));
    const verify = await runBwrite(['verify', '--deep', '--store', store]);
    expect(verify.code, describeRun(['verify', '--deep'], verify)).toBe(0);
  });

  it('fails an item whose transient error outlasts --retries, after retries + 1 attempts', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await input(dir, 20);
    const env = { BWRITE_FAULTS: 'blob:EAGAIN:1', BWRITE_FAULTS_SEED: '1' };

    const { run, summary, args } = await importJson(store, ['--inline-max', '0', '--retries', '2', ...fast, file], { env, cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ read: 20, written: 0, failed: 20 });
    expect(summary.retries).toBe(40);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(20);
    for (const failure of failures) expect(failure).toMatchObject({ code: 'EAGAIN', attempts: 3 });
  });

  it('fails the items of a batch whose index commit stays SQLITE_BUSY', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await input(dir, 20);
    const env = { BWRITE_FAULTS: 'index:SQLITE_BUSY:1', BWRITE_FAULTS_SEED: '1' };

    const { run, summary, args } = await importJson(store, ['--retries', '1', ...fast, file], { env, cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ written: 0, failed: 20 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(20);
    for (const failure of failures) expect(failure.code).toBe('SQLITE_BUSY');
    expect(await exportLines(store)).toEqual([]);
  });
});

describe('a permanent item error fails that item at once', () => {
  it('fails every item with EACCES after one attempt when every blob write is refused', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await input(dir, 50);
    const env = { BWRITE_FAULTS: 'blob:EACCES:1', BWRITE_FAULTS_SEED: '1' };

    const { run, summary, args } = await importJson(store, ['--inline-max', '0', ...fast, file], { env, cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ status: 'partial', read: 50, written: 0, failed: 50, retries: 0 });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(50);
    for (const failure of failures) {
      expect(failure).toMatchObject({ code: 'EACCES', attempts: 1 });
      expect(failure.key).toMatch(/^f\d{4}$/);
      expect(failure.record).toEqual({ id: failure.key, n: Number(failure.key!.slice(1)), tag: `t${Number(failure.key!.slice(1)) % 7}` });
    }
    expect(await exportLines(store)).toEqual([]);
  });

  it('bwrite retry on that failures file stores every record, as a clean import would', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await input(dir, 50);
    const env = { BWRITE_FAULTS: 'blob:EACCES:1', BWRITE_FAULTS_SEED: '1' };
    const { summary: failedRun } = await importJson(store, ['--inline-max', '0', ...fast, file], { env, cwd: dir });
    expect(failedRun.failed).toBe(50);

    const { run, summary, args } = await importJson(store, ['--inline-max', '0', failedRun.failuresFile as string], { cwd: dir }, 'retry');

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', written: 50, failed: 0 });
    expect(await exportLines(store)).toEqual(await cleanExport(dir, file));
  });
});

describe('bwrite retry never puts an older value back', () => {
  // Keys repeat: each of 40 keys appears 10 times; the last occurrence is the value a clean import keeps.
  const repeated = (i: number) => ({ id: `r${String(i % 40).padStart(2, '0')}`, n: i });

  it('a retried record whose key was stored again later (a later line, a later file of its run, or a later import) is skipped; the rest is stored', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'repeated.ndjson'), ndjson(400, repeated));
    // The same keys again in a second file of the same run: its values come later in input order.
    const second = await writeText(join(dir, 'repeated-2.ndjson'), ndjson(80, (i) => repeated(400 + i)));
    const env = { BWRITE_FAULTS: 'blob:EACCES:0.2', BWRITE_FAULTS_SEED: '7' };
    const { summary: faulty } = await importJson(store, ['--inline-max', '0', '--batch-size', '16', file, second], { env, cwd: dir });
    expect(faulty.failed).toBeGreaterThan(20);
    // A later import sets one key anew: the retry must not undo it either.
    await importOk(store, [await writeText(join(dir, 'later.ndjson'), '{"id":"r00","n":"later"}\n')]);

    const { run, summary, args } = await importJson(store, ['--inline-max', '0', faulty.failuresFile as string], { cwd: dir }, 'retry');

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary.failed).toBe(0);
    expect(summary.skipped).toBeGreaterThan(0);
    await importOk(join(dir, 'clean'), [file, second]);
    const want = (await exportLines(join(dir, 'clean'))).map((line) => (line.startsWith('{"id":"r00"') ? '{"id":"r00","n":"later"}' : line));
    expect(await exportLines(store)).toEqual(want);
  });
});

describe('a store that is failing ends the run', () => {
  it('aborts with exit 3 on ENOSPC, leaving a store that verify accepts', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await input(dir, 100);
    const env = { BWRITE_FAULTS: 'blob:ENOSPC:1', BWRITE_FAULTS_SEED: '1' };

    const { run, summary, args } = await importJson(store, ['--inline-max', '0', ...fast, file], { env, cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(3);
    expect(summary.status).toBe('aborted');
    expect(summary.retries).toBe(0);
    const verify = await runBwrite(['verify', '--store', store]);
    expect(verify.code, describeRun(['verify'], verify)).toBe(0);
  });

  it('aborts with exit 3 on SQLITE_FULL from the index, leaving a store that verify accepts', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await input(dir, 100);
    const env = { BWRITE_FAULTS: 'index:SQLITE_FULL:1', BWRITE_FAULTS_SEED: '1' };

    const { run, summary, args } = await importJson(store, ['--inline-max', '0', ...fast, file], { env, cwd: dir });

    expect(run.code, describeRun(args, run)).toBe(3);
    expect(summary.status).toBe('aborted');
    expect(await exportLines(store)).toEqual([]);
    const verify = await runBwrite(['verify', '--store', store]);
    expect(verify.code, describeRun(['verify'], verify)).toBe(0);
  });

  it('keeps what earlier runs stored when a later run aborts on EIO', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const first = await writeText(join(dir, 'first.ndjson'), ndjson(10, (i) => ({ id: `a${i}` })));
    await importOk(store, [first]);
    const file = await input(dir, 50);

    const { run } = await importJson(store, ['--inline-max', '0', ...fast, file], {
      env: { BWRITE_FAULTS: 'blob:EIO:1', BWRITE_FAULTS_SEED: '1' },
    });

    expect(run.code).toBe(3);
    expect(await exportLines(store)).toHaveLength(10);
  });
});
