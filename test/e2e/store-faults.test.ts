import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ndjson, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportLines, importJson, importOk, parseSummary } from '../helpers/store.js';
import { expectAccountedFor, expectNoStackTrace, expectOnlyBwriteLines, expectSameExport, expectVerifies, exportText, failuresOf, pad, startBwriteAfter, tryTmpfs, unmount } from '../helpers/robustness.js';

const RECORDS = 600;
// Several rules at 20 % each compound (four fail ~59 % of attempts), so the retries must outlast that.
const fastRetries = ['--retries', '40', '--retry-delay', '1', '--retry-max-delay', '10'];

let dir: string;
let file: string;
let reference: string;

beforeAll(async () => {
  dir = await tempDir('bwrite-faults-');
  file = await writeText(join(dir, 'in.ndjson'), ndjson(RECORDS, (i) => ({ id: `k${pad(i, 4)}`, n: i, tag: `t${i % 11}` })));
  const store = join(dir, 'reference');
  await importOk(store, [file]);
  reference = await exportText(store);
});

describe('transient store errors at a 20% rate are retried to zero losses', () => {
  const transient: [string, string[]][] = [
    ['blob:EAGAIN:0.2', []],
    ['blob:EBUSY:0.2', []],
    ['blob:EMFILE:0.2', []],
    ['index:SQLITE_BUSY:0.2', []],
    ['blob:ENFILE:0.2', []],
    ['blob:EINTR:0.2', []],
    ['blob:ETIMEDOUT:0.2', []],
    ['index:SQLITE_LOCKED:0.2', []],
    ['blob:EAGAIN:0.2,blob:EBUSY:0.2,blob:EMFILE:0.2,index:SQLITE_BUSY:0.2', ['--inline-max', '0']],
  ];
  it.each(transient)('BWRITE_FAULTS=%s %j', async (faults, extra) => {
    const store = join(dir, `transient-${faults.replace(/[^A-Za-z0-9]+/g, '-')}-${extra.length}`);
    const { run, summary, args } = await importJson(store, [...fastRetries, '--batch-size', '25', ...extra, file], {
      env: { BWRITE_FAULTS: faults, BWRITE_FAULTS_SEED: '7' },
    });

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', read: RECORDS, written: RECORDS, failed: 0 });
    expect(summary.retries, 'the faults were retried').toBeGreaterThan(0);
    expectSameExport(await exportText(store), reference, faults);
    await expectVerifies(store, faults, true);
  });
});

describe('a permanent error fails each item it hits after exactly one attempt', () => {
  it.each([
    ['blob:EACCES:0.3', []],
    ['blob:EACCES:0.3', ['--inline-max', '0']],
    ['index:EACCES:0.3', []],
    ['blob:EPERM:0.3', []],
  ])('BWRITE_FAULTS=%s %j: the rest is stored, every record is stored or listed once', async (faults, extra) => {
    const store = join(dir, `permanent-${faults.replace(/[^A-Za-z0-9]+/g, '-')}-${extra.length}`);
    const code = faults.split(':')[1]!;
    const { run, summary, args } = await importJson(store, [...fastRetries, '--batch-size', '20', ...extra, file], {
      env: { BWRITE_FAULTS: faults, BWRITE_FAULTS_SEED: '11' },
      cwd: dir,
    });

    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ status: 'partial', read: RECORDS, retries: 0 });
    expect(summary.failed).toBeGreaterThan(0);
    expectAccountedFor(summary);
    expectOnlyBwriteLines(run.stderr);
    const failures = await failuresOf(summary, dir);
    expect(failures).toHaveLength(summary.failed);
    for (const failure of failures) expect(failure, JSON.stringify(failure)).toMatchObject({ code, attempts: 1 });

    const stored = (await exportLines(store, ['--with-keys'])).map((line) => (JSON.parse(line) as { key: string }).key);
    const failedKeys = failures.map((f) => f.key);
    expect(stored.length + failedKeys.length).toBe(RECORDS);
    expect(new Set([...stored, ...failedKeys]).size, 'no record both stored and failed, none missing').toBe(RECORDS);
  });
});

describe('a store that fails ends the run with exit 3; --resume then completes it', () => {
  // Rates low enough that some batches commit before the fault ends the run.
  const fatal = ['blob:ENOSPC:0.004', 'blob:EIO:0.004', 'index:SQLITE_FULL:0.1', 'blob:EDQUOT:0.004', 'blob:EROFS:0.004', 'index:SQLITE_IOERR:0.1', 'index:ENOSPC:0.1'];
  it.each(fatal)('BWRITE_FAULTS=%s', async (faults) => {
    const store = join(dir, `fatal-${faults.replace(/[^A-Za-z0-9]+/g, '-')}`);
    const options = ['--inline-max', '0', '--batch-size', '20'];
    const aborted = await importJson(store, [...fastRetries, ...options, '--resume', file], { env: { BWRITE_FAULTS: faults, BWRITE_FAULTS_SEED: '5' }, cwd: dir });

    expect(aborted.run.code, describeRun(aborted.args, aborted.run)).toBe(3);
    expect(aborted.summary.status).toBe('aborted');
    expect(aborted.summary.retries, 'a failing store is not retried').toBe(0);
    // (It may have read the whole input first: batches ready at once wait to commit together.)
    expect(aborted.summary.written + aborted.summary.failed, 'the fault stopped the run before every record was stored or failed').toBeLessThan(RECORDS);
    expect(aborted.summary.written, 'some batches committed before the fault').toBeGreaterThan(0);
    expect(aborted.run.stderr).toMatch(/^bwrite: error: .*\S/m);
    expectOnlyBwriteLines(aborted.run.stderr);
    await expectVerifies(store, `after ${faults}`);

    const resumed = await importJson(store, [...options, '--resume', file], { cwd: dir });
    expect(resumed.run.code, describeRun(resumed.args, resumed.run)).toBe(0);
    expectAccountedFor(resumed.summary, 'the resumed run');
    expect(resumed.summary.skipped, 'the resumed run skipped what the aborted run committed').toBe(aborted.summary.written);
    expectSameExport(await exportText(store), reference, `aborted by ${faults}, then resumed`);
    await expectVerifies(store, `after ${faults} and --resume`, true);
  });
});

// Probe once whether real tmpfs mounts are possible here (root on Linux); register the test only then.
const probe = tryTmpfs('1m');
if (probe) unmount(probe);

describe('real resource limits', () => {
  if (probe) {
    it('a real full disk (2 MiB tmpfs) ends the run with exit 3 and a store that verifies; with room again, --resume completes it', async () => {
      const mountPoint = tryTmpfs('2m');
      expect(mountPoint).not.toBeNull();
      onTestFinished(() => unmount(mountPoint!));
      const store = join(mountPoint!, 'store');
      // 3 MB of values on a 2 MiB disk.
      const fat = await writeText(join(dir, 'fat.ndjson'), ndjson(3000, (i) => ({ id: `fat${pad(i)}`, pad: 'p'.repeat(1000) })));
      const options = ['--inline-max', '0', '--batch-size', '100', '--resume'];

      const full = await importJson(store, [...options, fat]);

      expect(full.run.code, describeRun(full.args, full.run)).toBe(3);
      expect(full.summary.status).toBe('aborted');
      expectOnlyBwriteLines(full.run.stderr);
      expect(full.run.stderr).toMatch(/^bwrite: error: .*(ENOSPC|no space|full)/im);
      await expectVerifies(store, 'on the full disk');

      execFileSync('mount', ['-o', 'remount,size=64m', mountPoint!]);
      const resumed = await importJson(store, [...options, fat]);
      expect(resumed.run.code, describeRun(resumed.args, resumed.run)).toBe(0);
      expectAccountedFor(resumed.summary);
      const stored = await exportLines(store);
      expect(stored).toHaveLength(3000);
      expect(JSON.parse(stored[2999]!)).toEqual({ id: 'fat002999', pad: 'p'.repeat(1000) });
      await expectVerifies(store, 'after --resume with room', true);
    }, 60_000);
  }

  if (process.platform === 'linux') {
    it('an open-file limit too low for bwrite to start (ulimit -n 24) is one error line that says what to raise', async () => {
      const work = await tempDir();
      const input = await writeText(join(work, 'in.ndjson'), '{"id":"a"}\n');
      const args = ['import', '--store', join(work, 'store'), input];
      const run = await startBwriteAfter('ulimit -n 24', args, { cwd: work }).result;
      expect(run.code, describeRun(args, run)).toBe(1);
      expectOnlyBwriteLines(run.stderr);
      expect(run.stderr).toMatch(/^bwrite: error: too many open files to start .*ulimit -n/m);
    });

    // 64: Node itself holds about 20 files and opens a command's modules all at once as it loads
    // them, so a lower limit stops bwrite from starting (with a one-line error) before it can adapt.
    it('a low open-file limit (ulimit -n 64) under --concurrency 64 stores every record: the writer lowers its concurrency on EMFILE instead of failing items', async () => {
      const work = await tempDir();
      const store = join(work, 'store');
      // Values over 16 KiB: smaller ones are written one at a time, never near the limit.
      const many = await writeText(join(work, 'many.ndjson'), ndjson(600, (i) => ({ id: `m${pad(i)}`, n: i, pad: 'p'.repeat(17_000) })));
      const clean = join(work, 'clean');
      await importOk(clean, ['--inline-max', '0', many]);
      // Default retries: adapting must not depend on a generous retry budget.
      const args = ['import', '--store', store, '--json', '--inline-max', '0', '--concurrency', '64', many];

      const run = await startBwriteAfter('ulimit -n 64', args, { cwd: work, timeoutMs: 60_000 }).result;

      expectNoStackTrace(run.stderr, describeRun(args, run));
      expect(run.code, describeRun(args, run)).toBe(0);
      const summary = parseSummary(args, run);
      expect(summary).toMatchObject({ status: 'ok', read: 600, written: 600, failed: 0 });
      expect(summary.retries, 'the limit was really met').toBeGreaterThan(0);
      expectSameExport(await exportText(store), await exportText(clean), 'the import under ulimit -n 64');
      await expectVerifies(store, 'after the EMFILE run', true);
    }, 60_000);
  }
});
