import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { ndjson, runBwrite, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { pgQuery, pgStore, pgUrl } from '../helpers/postgres.js';
import { expectSameExport, expectVerifies, exportText, pad, waitUntil } from '../helpers/robustness.js';
import { describeRun, importOk, parseSummary, type CopySummary } from '../helpers/store.js';

const ITEMS = 1500;
const BIG = 20_000;
// Every fifth value is over the default --inline-max: in a local store a blob, in PostgreSQL inline.
const record = (i: number) => ({ id: `k${pad(i)}`, n: i, ...(i % 5 === 0 ? { pad: 'p'.repeat(20_000 + i) } : {}) });

async function copy(from: string, to: string, extra: string[] = []): Promise<CopySummary> {
  const args = ['copy', '--from', from, '--to', to, '--json', '--progress', 'none', ...extra];
  const run = await runBwrite(args, { timeoutMs: 120_000 });
  expect(run.code, describeRun(args, run)).toBe(0);
  return parseSummary(args, run) as unknown as CopySummary;
}

async function sourceStore(dir: string, name: string, items: number): Promise<string> {
  const store = join(dir, name);
  await importOk(store, [await writeText(join(dir, `${name}.ndjson`), ndjson(items, record))]);
  return store;
}

async function pgItems(schema: string): Promise<{ items: number; keys: number }> {
  const [row] = await pgQuery<{ items: string; keys: string }>(`SELECT count(*) AS items, count(DISTINCT key) AS keys FROM "${schema}".items`);
  return { items: Number(row!.items), keys: Number(row!.keys) };
}

describe.runIf(Boolean(pgUrl))('bwrite copy with a store in PostgreSQL', () => {
  let dir: string;
  let source: string;

  beforeAll(async () => {
    dir = await tempDir('bwrite-pg-copy-');
    source = await sourceStore(dir, 'source', ITEMS);
  }, 60_000);

  test('a local store copied into PostgreSQL and back holds the same items, with where each came from, and both verify', async () => {
    const { url, schema } = pgStore();
    expect(await copy(source, url)).toMatchObject({ status: 'ok', read: ITEMS, copied: ITEMS, failed: 0, verified: ITEMS, mismatched: 0 });
    await expectVerifies(url, 'the copy in PostgreSQL', true);
    const want = await exportText(source);
    expectSameExport(await exportText(url), want, 'the copy in PostgreSQL');
    // Each item keeps the input and line it was imported from.
    const rows = await pgQuery<{ key: string; source: string | null; line: string | null }>(`SELECT key, source, line FROM "${schema}".items ORDER BY key`);
    expect(rows).toHaveLength(ITEMS);
    expect(rows.every((row, i) => row.source?.endsWith('source.ndjson') && Number(row.line) === i + 1), JSON.stringify(rows[0])).toBe(true);

    const back = join(dir, 'back');
    expect(await copy(url, back)).toMatchObject({ status: 'ok', read: ITEMS, copied: ITEMS, failed: 0, verified: ITEMS, mismatched: 0 });
    await expectVerifies(back, 'the copy back from PostgreSQL', true);
    expectSameExport(await exportText(back), want, 'the copy back from PostgreSQL');
    // Copying again finds every item already there.
    expect(await copy(source, url)).toMatchObject({ status: 'ok', copied: 0, skipped: ITEMS, verified: ITEMS });
  }, 120_000);

  test('a copy into PostgreSQL killed after its first commit goes on from its last committed batch, each item once', async () => {
    const big = await sourceStore(dir, 'big', BIG);
    const { url, schema } = pgStore();
    const args = ['copy', '--from', big, '--to', url, '--batch-size', '10', '--progress', 'none'];
    const running = startBwrite(args, { timeoutMs: 120_000, env: { BWRITE_LEASE_MS: '1000' } });
    const committed = async () => (await pgQuery(`SELECT to_regclass('"${schema}".items') AS t`))[0]!.t !== null && (await pgItems(schema)).items > 0;
    await waitUntil(committed, 'a first committed batch of the copy', 60_000, 50);
    running.child.kill('SIGKILL');
    const killed = await running.result;
    expect(killed.signal, describeRun(args, killed)).toBe('SIGKILL');
    const before = (await pgItems(schema)).items;
    expect(before).toBeLessThan(BIG);
    // The copy's mark moved with each committed batch, in the batch's own transaction.
    const [mark] = await pgQuery<{ value: string }>(`SELECT value FROM "${schema}".meta WHERE name LIKE 'setting:copy-from:%'`);
    expect(JSON.parse(mark!.value)).toEqual({ after: `k${pad(before - 1)}` });

    const again = await copy(big, url, ['--batch-size', '10']);
    expect(again).toMatchObject({ status: 'ok', resumed: true, skipped: 0, failed: 0, verified: BIG, mismatched: 0 });
    expect(again.read).toBe(BIG - before);
    expect(again.copied).toBe(BIG - before);
    expect(await pgItems(schema)).toEqual({ items: BIG, keys: BIG });
    expectSameExport(await exportText(url), await exportText(big), 'the copy finished after SIGKILL');
  }, 180_000);
});
