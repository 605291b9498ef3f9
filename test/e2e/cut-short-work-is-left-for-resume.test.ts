// Work a run could not finish — retries cut short by a signal, a gzip that ends too soon — is
// neither stored nor failed for good: --resume reads it again and ends with the clean store.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gzip, ndjson, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, importJson, importOk, parseSummary } from '../helpers/store.js';
import { expectAccountedFor, expectCutFileResumesOnceCompleted, expectOnlyBwriteLines, expectSameExport, expectVerifies, exportText, failuresOf, pad } from '../helpers/robustness.js';

const RECORDS = 3000;
let dir: string;
let file: string;
let reference: string;

beforeAll(async () => {
  dir = await tempDir('bwrite-cut-short-');
  file = await writeText(join(dir, 'm.ndjson'), ndjson(RECORDS, (i) => ({ id: `m${pad(i)}`, n: i, s: 'v'.repeat(i % 17) })));
  const store = join(dir, 'reference');
  await importOk(store, [file]);
  reference = await exportText(store);
});

describe('a signal during retry backoffs', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while items sleep between EAGAIN retries ends with exit %i, nothing failed, and --resume gives exactly the clean store', async (signal, code) => {
    const store = join(dir, `store-${signal}`);
    const options = ['--inline-max', '0', '-b', '100'];
    const args = ['import', '--store', store, '--json', '--progress', 'none', '--resume', ...options, '--retry-delay', '1500', '--retry-max-delay', '1500', '--retries', '50', file];
    const running = startBwrite(args, { cwd: dir, env: { BWRITE_FAULTS: 'blob:EAGAIN:0.3', BWRITE_FAULTS_SEED: '1' } });
    await sleep(4000);
    running.child.kill(signal);
    const run = await running.result;

    expect(run.code, describeRun(args, run)).toBe(code);
    expectOnlyBwriteLines(run.stderr, describeRun(args, run));
    const summary = parseSummary(args, run);
    expect(summary.status).toBe('interrupted');
    expect(summary.retries, 'items were in backoff when the signal came').toBeGreaterThan(0);
    expect(summary.failed, 'an item whose retries were cut short is not a failure').toBe(0);
    expect(await failuresOf(summary, dir)).toEqual([]);
    expect(summary.written).toBeLessThan(RECORDS);
    await expectVerifies(store, `after ${signal}`);

    const resumed = await importJson(store, ['--resume', ...options, file], { cwd: dir });
    expect(resumed.run.code, describeRun(resumed.args, resumed.run)).toBe(0);
    expectAccountedFor(resumed.summary);
    expect(resumed.summary.skipped, 'the watermark covers exactly what the interrupted run committed').toBe(summary.written);
    expectSameExport(await exportText(store), reference, `interrupted by ${signal} in backoff, then resumed`);
    await expectVerifies(store, `after ${signal} and --resume`, true);
  }, 60_000);
});

describe('bad lines read ahead of a batch a signal leaves uncommitted', () => {
  it('are failed once, by the run that commits past them: never in both the interrupted run’s failures file and the resumed one’s', async () => {
    const isBad = (i: number) => i % 50 === 25;
    const bad = await writeText(join(dir, 'bad.ndjson'), Array.from({ length: RECORDS }, (_, i) => (isBad(i) ? `{"id": "broken ${i}"` : JSON.stringify({ id: `b${pad(i)}`, n: i }))).join('\n') + '\n');
    const badLines = Array.from({ length: RECORDS }, (_, i) => i).filter(isBad).map((i) => i + 1);
    const store = join(dir, 'store-bad-lines');
    const options = ['--inline-max', '0', '-b', '100'];
    const args = ['import', '--store', store, '--json', '--progress', 'none', '--resume', ...options, '--retry-delay', '1500', '--retry-max-delay', '1500', '--retries', '50', bad];
    const running = startBwrite(args, { cwd: dir, env: { BWRITE_FAULTS: 'blob:EAGAIN:0.3', BWRITE_FAULTS_SEED: '1' } });
    await sleep(4000);
    running.child.kill('SIGTERM');
    const run = await running.result;
    expect(run.code, describeRun(args, run)).toBe(143);
    const interrupted = parseSummary(args, run);
    const firstFailures = await failuresOf(interrupted, dir);
    expect(firstFailures.length, 'the failures file holds what the summary counts').toBe(interrupted.failed);

    const resumed = await importJson(store, ['--resume', ...options, bad], { cwd: dir });
    expect(resumed.run.code, describeRun(resumed.args, resumed.run)).toBe(1);
    const secondFailures = await failuresOf(resumed.summary, dir);
    expect(secondFailures.length).toBe(resumed.summary.failed);
    expect([...firstFailures, ...secondFailures].map((f) => f.line).sort((a, b) => Number(a) - Number(b))).toEqual(badLines);
    expect((await exportText(store)).trimEnd().split('\n')).toHaveLength(RECORDS - badLines.length);
    await expectVerifies(store, 'after SIGTERM and --resume', true);
  }, 60_000);
});

describe('a gzip file that ends too soon', () => {
  it('fails one E_READ item (exit 1) without moving the watermark past it, so once the file is completed in place --resume stores every record', async () => {
    const lines = 5000;
    const full = gzip(ndjson(lines, (i) => ({ id: `z${pad(i)}`, n: i, text: `record ${i} of ${lines}` })));
    await expectCutFileResumesOnceCompleted(await tempDir(), full, 'gz', lines);
  });
});
