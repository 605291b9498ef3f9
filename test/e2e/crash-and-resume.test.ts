import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ndjson, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { importJson, describeRun } from '../helpers/store.js';
import { expectAccountedFor, expectSameExport, expectVerifies, exportText, pad, progressOf, seededRandom, waitUntil } from '../helpers/robustness.js';

// 100k records of ~50 bytes: big enough that a kill lands in the middle of a run, small enough
// that the whole file runs in about a minute.
const RECORDS = 100_000;
const BLOB_RECORDS = 40_000;
const KILLS = 10;

let dir: string;
let file: string;
let firstFile: string;
let reference: string;

beforeAll(async () => {
  dir = await tempDir('bwrite-crash-');
  const make = (i: number) => ({ id: `c${pad(i)}`, n: i, s: 'x'.repeat(i % 23) });
  file = await writeText(join(dir, 'events.ndjson'), ndjson(RECORDS, make));
  // Its first BLOB_RECORDS records: every value a file makes each run slower, so fewer of them.
  firstFile = await writeText(join(dir, 'first.ndjson'), ndjson(BLOB_RECORDS, make));
  // The store one uninterrupted run makes (values are the same whatever --inline-max says).
  const store = join(dir, 'reference');
  const { run, summary, args } = await importJson(store, ['--batch-size', '500', file], { timeoutMs: 60_000 });
  expect(run.code, describeRun(args, run)).toBe(0);
  expect(summary.written).toBe(RECORDS);
  reference = await exportText(store);
}, 60_000);

/**
 * Starts `import --resume` KILLS times and SIGKILLs each a seeded random delay after its run is
 * registered (an import registers its run before it writes anything), checking the store after
 * every kill; then resumes to the end. Every other kill also waits for that run's first commit
 * before its delay starts, so the kills land both before and after commits however loaded the
 * machine is. Returns the final run's summary.
 */
async function killAndResume(input: string, store: string, options: string[], seed: number, delayMs: [number, number]) {
  const random = seededRandom(seed);
  const args = ['import', '--store', store, '--resume', '--progress', 'none', ...options, input];
  const moments: string[] = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    const delay = Math.round(delayMs[0] + random() * (delayMs[1] - delayMs[0]));
    const afterCommit = kill % 2 === 0;
    moments.push(`${delay}${afterCommit ? ' after a commit' : ''}`);
    const before = (await progressOf(store, input)) ?? { runs: 0, records: 0 };
    const running = startBwrite(args, { timeoutMs: 60_000 });
    let ended = false;
    void running.result.then(() => (ended = true));
    const now = async () => (await progressOf(store, input)) ?? before;
    await waitUntil(async () => ended || (await now()).runs > before.runs, 'the run to be registered');
    if (afterCommit) await waitUntil(async () => ended || (await now()).records > before.records, 'the run to commit a batch');
    await sleep(delay);
    running.child.kill('SIGKILL');
    const run = await running.result;
    // A run that beat the kill must have succeeded; one that did not was killed, nothing else.
    if (run.signal === null) expect(run.code, describeRun(args, run)).toBe(0);
    else expect(run.signal).toBe('SIGKILL');
    await expectVerifies(store, `after kill ${kill} of ${KILLS} (seed ${seed}, ${moments.at(-1)} ms after the run started)`);
  }
  const final = await importJson(store, ['--resume', '--progress', 'none', ...options, input], { timeoutMs: 60_000 });
  expect(final.run.code, `${describeRun(final.args, final.run)}\nkill moments (ms): ${moments.join(', ')}`).toBe(0);
  return { summary: final.summary, moments };
}

describe('an import killed with SIGKILL at random moments loses nothing', () => {
  it(`ten kills of --resume runs with values inline in the index, then a last --resume, give byte for byte the store one clean run makes`, async () => {
    const store = join(dir, 'inline');
    const { summary, moments } = await killAndResume(file, store, ['--batch-size', '500'], 1, [60, 700]);

    expectAccountedFor(summary, `final --resume run after kills at ${moments.join(', ')} ms`);
    expect(summary).toMatchObject({ status: 'ok', read: RECORDS, failed: 0 });
    // The kills were not all before the first commit: the final run resumed past a committed prefix.
    expect(summary.skipped).toBeGreaterThan(0);
    expectSameExport(await exportText(store), reference, 'killed and resumed (inline values)');
    await expectVerifies(store, 'after the final --resume');
  }, 90_000);

  it(`ten kills of --resume runs with every value a blob file (--inline-max 0), then a last --resume, give byte for byte the store one clean run makes (first 40k records)`, async () => {
    const store = join(dir, 'blobs');
    const { summary, moments } = await killAndResume(firstFile, store, ['--inline-max', '0', '--batch-size', '300'], 2, [150, 1100]);

    expectAccountedFor(summary, `final --resume run after kills at ${moments.join(', ')} ms`);
    expect(summary).toMatchObject({ status: 'ok', read: BLOB_RECORDS, failed: 0 });
    expect(summary.skipped).toBeGreaterThan(0);
    // Keys are zero-padded, so the reference's first lines are exactly the first records' entries.
    const firstOfReference = reference.split('\n').slice(0, BLOB_RECORDS).join('\n') + '\n';
    expectSameExport(await exportText(store), firstOfReference, 'killed and resumed (blob values)');
  }, 120_000);
});
