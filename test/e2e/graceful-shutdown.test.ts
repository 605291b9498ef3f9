import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ndjson, sleep, startBwrite, tempDir, writeText, type RunningBwrite } from '../helpers/cli.js';
import { describeRun, importJson, importOk, parseSummary } from '../helpers/store.js';
import { exists, expectAccountedFor, expectNoStackTrace, expectSameExport, expectVerifies, exportText, pad, startBwriteAfter, waitUntil } from '../helpers/robustness.js';

const RECORDS = 40_000;

let dir: string;
let file: string;
let reference: string;

beforeAll(async () => {
  dir = await tempDir('bwrite-shutdown-');
  file = await writeText(join(dir, 'big.ndjson'), ndjson(RECORDS, (i) => ({ id: `g${pad(i)}`, n: i, s: 'y'.repeat(i % 17) })));
  const store = join(dir, 'reference');
  await importOk(store, [file], { timeoutMs: 60_000 });
  reference = await exportText(store);
}, 60_000);

/** Wait until bwrite has opened its store and had time to commit, so its signal handlers are in place. */
async function waitForFirstCommit(store: string, running: RunningBwrite): Promise<void> {
  await waitUntil(async () => {
    if (running.child.exitCode !== null) throw new Error(`bwrite ended before the test could signal it: ${JSON.stringify(running.output())}`);
    return exists(join(store, 'index.db'));
  }, 'the store to be created');
  await sleep(400);
}

describe('SIGTERM during a large import of a file', () => {
  it('exits 143 with status interrupted, leaves a store that verifies, and --resume completes it to what a clean import makes', async () => {
    const store = join(dir, 'term');
    // Every value a blob file: slow enough that the signal lands mid-run.
    const options = ['--inline-max', '0', '--batch-size', '200', '--progress', 'none'];
    const args = ['import', '--store', store, '--json', '--resume', ...options, file];
    const running = startBwrite(args, { timeoutMs: 60_000 });
    await waitForFirstCommit(store, running);

    running.child.kill('SIGTERM');
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(143);
    expectNoStackTrace(run.stderr);
    const interrupted = parseSummary(args, run);
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.read, 'the signal came before the end of the file').toBeLessThan(RECORDS);
    expect(interrupted.written).toBeGreaterThan(0);
    // What was read was committed, not dropped: nothing read is left between written and failed.
    expectAccountedFor(interrupted, 'interrupted run');
    await expectVerifies(store, 'after SIGTERM');

    const resumed = await importJson(store, ['--resume', ...options, file], { timeoutMs: 60_000 });
    expect(resumed.run.code, describeRun(resumed.args, resumed.run)).toBe(0);
    expect(resumed.summary.skipped, 'the resumed run skips exactly what the interrupted run read and committed').toBe(interrupted.read);
    expect(resumed.summary.written).toBe(RECORDS - interrupted.read);
    expectSameExport(await exportText(store), reference, 'interrupted by SIGTERM, then resumed');
  }, 90_000);

  /** An import whose writes keep failing with EAGAIN and back off for `backoffMs`: a first signal has to wait for them. */
  async function startBackingOff(store: string, backoffMs: number): Promise<{ args: string[]; running: RunningBwrite }> {
    const delay = String(backoffMs);
    const args = [
      'import', '--store', store, '--inline-max', '0', '--batch-size', '50', '--progress', 'none',
      '--retries', '100', '--retry-delay', delay, '--retry-max-delay', delay, file,
    ];
    const running = startBwrite(args, { env: { BWRITE_FAULTS: 'blob:EAGAIN:0.9', BWRITE_FAULTS_SEED: '3' }, timeoutMs: 60_000 });
    await waitForFirstCommit(store, running);
    return { args, running };
  }

  it('a second signal ends the process at once, and the store still verifies', async () => {
    const store = join(dir, 'twice');
    // Backoffs of 2 s: the first signal has to wait for them, the second must not.
    const { args, running } = await startBackingOff(store, 2000);

    running.child.kill('SIGTERM');
    await sleep(300);
    const secondAt = Date.now();
    running.child.kill('SIGTERM');
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(143);
    expect(Date.now() - secondAt, 'time from the second signal to the exit (ms)').toBeLessThan(1500);
    expectNoStackTrace(run.stderr);
    await expectVerifies(store, 'after two SIGTERMs');
  }, 60_000);

  it('a second signal just after the summary, while the process ends, still exits 143', async () => {
    // The window this covers is the process's own end: Node closes its signal handlers before it
    // exits, and a signal landing then killed the process with no exit code (5 runs in 12).
    for (const delayMs of [0, 10, 20, 30, 40]) {
      const { args, running } = await startBackingOff(join(dir, `late-second-${delayMs}`), 200);
      running.child.kill('SIGTERM');
      await waitUntil(async () => running.child.exitCode !== null || running.output().stderr.includes('bwrite: interrupted:'), 'the summary of the interrupted run', 20_000, 2);
      await sleep(delayMs);
      running.child.kill('SIGTERM');
      const run = await running.result;

      expect(run.code, `second SIGTERM ${delayMs} ms after the summary\n${describeRun(args, run)}`).toBe(143);
      expectNoStackTrace(run.stderr);
    }
  }, 90_000);

  it('SIGINT during a file import exits 130 with status interrupted', async () => {
    const store = join(dir, 'int');
    const args = ['import', '--store', store, '--json', '--inline-max', '0', '--progress', 'none', file];
    const running = startBwrite(args, { timeoutMs: 60_000 });
    await waitForFirstCommit(store, running);

    running.child.kill('SIGINT');
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(130);
    expect(parseSummary(args, run).status).toBe('interrupted');
    await expectVerifies(store, 'after SIGINT');
  }, 60_000);
});

describe('a reader that closes the pipe early ends bwrite quietly', () => {
  async function closeEarly(args: string[]): Promise<{ stderr: string; code: number | null; signal: NodeJS.Signals | null }> {
    const running = startBwrite(args, { timeoutMs: 30_000 });
    // Like `| head -1`: take the first chunk, then close the pipe.
    await new Promise<void>((resolve) => running.child.stdout!.once('data', () => resolve()));
    running.child.stdout!.destroy();
    return running.result;
  }

  it.each([
    ['export', []],
    ['export --with-keys', ['--with-keys']],
  ])('bwrite %s | head -1 prints no error and no stack trace', async (_label, extra) => {
    const run = await closeEarly(['export', '--store', join(dir, 'reference'), ...extra]);

    expect(run.stderr).toBe('');
    expect(run.signal).toBeNull();
    expect([0, 141]).toContain(run.code);
  });

  it('an import whose --json reader is already gone still commits its records and prints no stack trace', async () => {
    const store = join(dir, 'gone');
    const small = await writeText(join(dir, 'small.ndjson'), ndjson(2000, (i) => ({ id: `h${pad(i)}` })));
    const running = startBwrite(['import', '--store', store, '--json', small], { timeoutMs: 30_000 });
    running.child.stdout!.destroy();
    const run = await running.result;

    expectNoStackTrace(run.stderr);
    expect(run.signal).toBeNull();
    const check = await importJson(store, ['--on-conflict', 'skip', small]);
    expect(check.summary, 'every record was already stored').toMatchObject({ skipped: 2000, written: 0 });
  });

  it('an import whose --json reader is gone keeps the exit code it earned: 1 for a partial run', async () => {
    const bad = await writeText(join(dir, 'partly-bad.ndjson'), '{"id":"p1"}\nnot json\n{"id":"p2"}\n');
    const running = startBwrite(['import', '--store', join(dir, 'gone-partial'), '--json', bad], { timeoutMs: 30_000 });
    running.child.stdout!.destroy();
    const run = await running.result;

    expectNoStackTrace(run.stderr);
    expect(run.code).toBe(1);
  });

  it('a standard output that cannot be written (a full disk: /dev/full) is one error line and exit 1, never a stack trace', async () => {
    const run = await startBwriteAfter('exec >/dev/full', ['export', '--store', join(dir, 'reference')], { timeoutMs: 30_000 }).result;

    expectNoStackTrace(run.stderr);
    expect(run.stderr).toMatch(/^bwrite: error: cannot write to standard output: ENOSPC[^\n]*\n$/);
    expect(run.code).toBe(1);
  });
});

describe('a store that fails while a signal winds the run down', () => {
  it('exits 3 with status aborted, not 143: the failed store outranks the signal', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const args = ['import', '--store', store, '--json', '--progress', 'none', '--source-name', 'feed', '-'];
    // Every commit fails as a broken disk would; the records wait for the idle flush (a second).
    const running = startBwrite(args, { keepStdinOpen: true, env: { BWRITE_FAULTS: 'index:SQLITE_IOERR:1' } });
    await waitUntil(() => exists(join(store, 'index.db')), 'the store to be opened');
    running.child.stdin!.write(ndjson(5, (i) => ({ id: `k${i}` })));
    await sleep(300);
    running.child.kill('SIGTERM');
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(3);
    expect(parseSummary(args, run).status).toBe('aborted');
    expect(run.stderr).toMatch(/^bwrite: error: the store failed: .*SQLITE_IOERR/m);
  });
});
