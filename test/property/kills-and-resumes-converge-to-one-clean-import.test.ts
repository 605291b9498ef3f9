import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, importOk } from '../helpers/store.js';
import { exists, expectSameExport, expectVerifies, exportText, seededRandom, waitUntil } from '../helpers/robustness.js';

// Small inputs and few runs: each step is a bwrite process (plus a verify), and this file must stay
// within ~40 s on a loaded 2-core machine. A small run is over in a few hundred ms, most of it
// Node starting up, so a kill is timed from a moment of the run itself, not from the spawn.
const RUNS = 4;
const SEED = 20261125;

type Moment = 'spawned' | 'registered' | 'committed';

interface Step {
  /** `--resume` or a plain import (which starts from the top again). */
  resume: boolean;
  /** SIGKILL `ms` after the run reached `after`; null: let it finish. */
  kill: { after: Moment; ms: number } | null;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  resume: fc.boolean(),
  kill: fc.option(fc.record({ after: fc.constantFrom<Moment>('spawned', 'registered', 'committed', 'committed'), ms: fc.integer({ min: 0, max: 150 }) }), { freq: 5 }),
});

/** How far the run of process `pid` got, read from the store (read-only); 'spawned' until it registers. */
function momentOf(store: string, pid: number): Moment {
  let db: Database.Database | undefined;
  try {
    db = new Database(join(store, 'index.db'), { readonly: true, fileMustExist: true });
    const row = db.prepare('SELECT read FROM runs WHERE pid = ?').get(pid) as { read: number } | undefined;
    return !row ? 'spawned' : row.read > 0 ? 'committed' : 'registered';
  } catch {
    return 'spawned';
  } finally {
    db?.close();
  }
}

const ORDER: Moment[] = ['spawned', 'registered', 'committed'];

const scenarioArb = fc.record({
  records: fc.integer({ min: 400, max: 2000 }),
  // Fewer keys than records: keys repeat, and the last occurrence must win after every history.
  keys: fc.integer({ min: 10, max: 400 }),
  dataSeed: fc.integer({ min: 1, max: 1_000_000 }),
  inlineMax: fc.constantFrom('0', '64', '16384'),
  batchSize: fc.integer({ min: 5, max: 200 }),
  concurrency: fc.integer({ min: 1, max: 16 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 4 }),
});

/** Runs one step; a run that beat its kill must have succeeded, one that did not was killed. */
async function runStep(store: string, file: string, options: string[], step: Step, context: string): Promise<void> {
  const args = ['import', '--store', store, '--progress', 'none', '-q', ...(step.resume ? ['--resume'] : []), ...options, file];
  const running = startBwrite(args, { timeoutMs: 30_000 });
  if (step.kill) {
    const { after, ms } = step.kill;
    let ended = false;
    void running.result.then(() => (ended = true));
    await waitUntil(() => ended || ORDER.indexOf(momentOf(store, running.child.pid!)) >= ORDER.indexOf(after), `the run to be ${after}`, 20_000, 10);
    await sleep(ms);
    running.child.kill('SIGKILL');
  }
  const run = await running.result;
  if (run.signal === null) expect(run.code, `${context}\n${describeRun(args, run)}`).toBe(0);
  else expect(run.signal, context).toBe('SIGKILL');
  // Killed before it made the store: there must be nothing, not a half-made store.
  if (!(await exists(join(store, 'index.db')))) {
    expect(await readdir(store).catch(() => []), `${context}: a store directory without index.db`).toEqual([]);
    return;
  }
  await expectVerifies(store, `${context}: after this step`);
}

describe('imports killed at random moments and resumed converge to one clean import', () => {
  it('any sequence of imports and --resume runs, each perhaps SIGKILLed, then one --resume, gives byte for byte the export of one clean import; verify passes after every step', async () => {
    const dir = await tempDir();
    let runNo = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const work = join(dir, `run${++runNo}`);
        const random = seededRandom(scenario.dataSeed);
        const text = ndjson(scenario.records, (i) => ({ id: `k${Math.floor(random() * scenario.keys)}`, seq: i, pad: 'x'.repeat(Math.floor(random() * 200)) }));
        const file = await writeText(join(work, 'in.ndjson'), text);
        await importOk(join(work, 'reference'), [file]);
        const reference = await exportText(join(work, 'reference'));

        const store = join(work, 'store');
        const options = ['--inline-max', scenario.inlineMax, '--batch-size', String(scenario.batchSize), '--concurrency', String(scenario.concurrency)];
        const context = JSON.stringify(scenario);
        for (const [n, step] of scenario.steps.entries()) await runStep(store, file, options, step, `${context} step ${n + 1}`);
        await runStep(store, file, options, { resume: true, kill: null }, `${context} final --resume`);

        expectSameExport(await exportText(store), reference, context);
        const deep = await runBwrite(['verify', '--deep', '--store', store]);
        expect(deep.code, `${context}\n${describeRun(['verify', '--deep'], deep)}`).toBe(0);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  }, 120_000);
});
