import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchWriter, copyStore, openStore } from '../../dist/index.js';
import { binPath, ndjson, runBwrite, startBwrite, startCommand, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { expectOnlyBwriteLines, expectSameExport, expectVerifies, exportText, pad, waitUntil } from '../helpers/robustness.js';
import { blobFiles, describeRun, type CopySummary, expectErrorLine, getValue, importOk, parseSummary, sha256, statsJson } from '../helpers/store.js';

const ITEMS = 1200;
// Every fourth value is over the default --inline-max, so a copy writes blobs as well as rows.
const record = (i: number) => ({ id: `k${pad(i)}`, n: i, ...(i % 4 === 0 ? { pad: 'p'.repeat(20_000 + i) } : {}) });

async function copy(from: string, to: string, extra: string[] = [], env: Record<string, string> = {}): Promise<{ run: RunResult; summary: CopySummary; args: string[] }> {
  const args = ['copy', '--from', from, '--to', to, '--json', ...extra];
  const run = await runBwrite(args, { timeoutMs: 120_000, env });
  return { run, summary: parseSummary(args, run) as unknown as CopySummary, args };
}

async function sourceStore(dir: string, name = 'source', items = ITEMS): Promise<string> {
  const store = join(dir, name);
  const input = await writeText(join(dir, `${name}.ndjson`), ndjson(items, record));
  await importOk(store, [input]);
  return store;
}

describe('bwrite copy', () => {
  let dir: string;
  let source: string;
  let sourceExport: string;
  // Big enough that a copy in batches of 10 takes a while: a signal lands in the middle of it.
  let big: string;

  beforeAll(async () => {
    dir = await tempDir('bwrite-copy-');
    source = await sourceStore(dir);
    sourceExport = await exportText(source);
    big = await sourceStore(dir, 'big-source', 20_000);
  }, 60_000);

  it('a local store copied to a new one holds the same keys and values, and verifies deep', async () => {
    const to = join(dir, 'plain-copy');
    const { run, summary, args } = await copy(source, to);
    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', resumed: false, read: ITEMS, copied: ITEMS, skipped: 0, failed: 0, verified: ITEMS, mismatched: 0, extra: 0 });
    expect(run.stderr).toMatch(/^bwrite: ok: read 1,200, copied 1,200, skipped 0 \(already there\), failed 0, verified 1,200, mismatched 0; /);
    expectSameExport(await exportText(to), sourceExport, 'the copy');
    const got = await getValue(to, `k${pad(8)}`);
    expect(JSON.parse(got.stdout)).toEqual(record(8));
    await expectVerifies(to, 'the copy', true);
    // Values over --inline-max went to the copy's blobs, named by their digests.
    const digests = (await blobFiles(to)).map((blob) => blob.rel.split('/').at(-1));
    expect(digests).toContain(sha256(JSON.stringify(record(8))));
    const stats = await statsJson(to);
    expect(stats.items).toBe(ITEMS);
    expect(stats.runs[0]).toMatchObject({ command: 'copy', status: 'ok', read: ITEMS, written: ITEMS, failed: 0 });
  });

  it('copying again into a complete copy writes nothing and still verifies every key', async () => {
    const to = join(dir, 'copied-twice');
    expect((await copy(source, to)).run.code).toBe(0);
    const { run, summary, args } = await copy(source, to);
    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', copied: 0, skipped: ITEMS, bytes: 0, verified: ITEMS, mismatched: 0 });
    expect((await statsJson(to)).items).toBe(ITEMS);
  });

  it('--inline-max 0 puts every copied value in the destination blobs', async () => {
    const to = join(dir, 'all-blobs');
    const { run, args } = await copy(source, to, ['--inline-max', '0']);
    expect(run.code, describeRun(args, run)).toBe(0);
    // Every record differs (its n), so each value is a blob of its own.
    expect(await blobFiles(to)).toHaveLength(ITEMS);
    expectSameExport(await exportText(to), sourceExport, 'the copy with --inline-max 0');
    await expectVerifies(to, 'the copy with --inline-max 0', true);
  });

  it('a copy the store failed under is finished by running it again: each item written once, nothing read twice', async () => {
    const to = join(dir, 'failed-midway');
    // The first batch commits; a later commit meets EIO, which ends the run with exit 3.
    const first = await copy(source, to, ['--batch-size', '50'], { BWRITE_FAULTS: 'index:EIO:0.2', BWRITE_FAULTS_SEED: '11' });
    expect(first.run.code, describeRun(first.args, first.run)).toBe(3);
    expect(first.run.stderr).toMatch(/^bwrite: error: the destination failed: .*EIO.*goes on from there/m);
    expect(first.summary.status).toBe('aborted');
    expect(first.summary.copied).toBeGreaterThan(0);
    expect(first.summary.copied).toBeLessThan(ITEMS);
    expect(first.summary.verified).toBeNull();

    const second = await copy(source, to, ['--batch-size', '50']);
    expect(second.run.code, describeRun(second.args, second.run)).toBe(0);
    expect(second.summary).toMatchObject({ status: 'ok', resumed: true, skipped: 0, failed: 0, verified: ITEMS });
    expect(second.summary.read).toBe(ITEMS - first.summary.copied);
    expect(second.summary.copied).toBe(ITEMS - first.summary.copied);
    expectSameExport(await exportText(to), sourceExport, 'the finished copy');
    await expectVerifies(to, 'the finished copy', true);
    const stats = await statsJson(to);
    expect(stats.items).toBe(ITEMS);
    expect(stats.runs.map((r) => [r.status, r.written])).toEqual([
      ['ok', ITEMS - first.summary.copied],
      ['aborted', first.summary.copied],
    ]);
  });

  it('a copy killed with SIGKILL goes on from its last committed batch when run again', async () => {
    const to = join(dir, 'killed');
    const args = ['copy', '--from', big, '--to', to, '--batch-size', '10', '--progress', 'none'];
    const running = startBwrite(args, { timeoutMs: 120_000, env: { BWRITE_LEASE_MS: '1000' } });
    await waitUntil(async () => Number((await statsJson(to).catch(() => ({ items: 0 }))).items) > 0, 'a first committed batch of the copy', 60_000, 50);
    running.child.kill('SIGKILL');
    const killed = await running.result;
    expect(killed.signal, describeRun(args, killed)).toBe('SIGKILL');
    const before = Number((await statsJson(to)).items);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(20_000);
    await expectVerifies(to, 'the copy after SIGKILL');

    const { run, summary, args: again } = await copy(big, to, ['--batch-size', '10']);
    expect(run.code, describeRun(again, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', resumed: true, skipped: 0, failed: 0, verified: 20_000, mismatched: 0 });
    expect(summary.read).toBe(20_000 - before);
    expect(summary.copied).toBe(20_000 - before);
    expect(run.stderr).toMatch(/^bwrite: ok \(resumed\): /m);
    expectSameExport(await exportText(to), await exportText(big), 'the copy finished after SIGKILL');
    const stats = await statsJson(to);
    expect(stats.items).toBe(20_000);
    // The killed run shows as crashed once its lease lapsed, with the rows it committed.
    expect(stats.runs.map((r) => [r.command, r.status, r.written])).toEqual([
      ['copy', 'ok', 20_000 - before],
      ['copy', 'crashed', before],
    ]);
  }, 120_000);

  it('a copy interrupted by SIGINT commits what it took in, prints its summary, exits 130, and the next run goes on from there', async () => {
    const to = join(dir, 'interrupted');
    const args = ['copy', '--from', big, '--to', to, '--batch-size', '10', '--json', '--progress', 'none'];
    const running = startBwrite(args, { timeoutMs: 120_000 });
    await waitUntil(async () => Number((await statsJson(to).catch(() => ({ items: 0 }))).items) > 0, 'a first committed batch of the copy', 60_000, 50);
    running.child.kill('SIGINT');
    const run = await running.result;
    expect(run.code, describeRun(args, run)).toBe(130);
    const summary = parseSummary(args, run) as unknown as CopySummary;
    expect(summary).toMatchObject({ status: 'interrupted', verified: null, mismatched: null });
    expect(run.stderr).toMatch(/^bwrite: interrupted: .*not verified/m);
    expect((await statsJson(to)).items).toBe(summary.copied);

    const again = await copy(big, to, ['--batch-size', '100']);
    expect(again.run.code, describeRun(again.args, again.run)).toBe(0);
    expect(again.summary).toMatchObject({ status: 'ok', resumed: true, read: 20_000 - summary.copied, copied: 20_000 - summary.copied, skipped: 0, verified: 20_000 });
  }, 120_000);

  it('source values whose blobs are missing or damaged are listed with exit 1, and both are copied by the next run once the source is repaired', async () => {
    const damagedDir = await tempDir('bwrite-copy-damaged-');
    const damaged = await sourceStore(damagedDir, 'damaged');
    const lost = `k${pad(40)}`;
    const lostBlob = (await blobFiles(damaged)).find((blob) => blob.rel.endsWith(sha256(JSON.stringify(record(40)))))!;
    await rm(lostBlob.path);
    const corrupt = (await blobFiles(damaged)).find((blob) => blob.rel.endsWith(sha256(JSON.stringify(record(80)))))!;
    await writeFile(corrupt.path, 'not the value');
    const to = join(damagedDir, 'copy');

    const { run, summary, args } = await copy(damaged, to);
    expect(run.code, describeRun(args, run)).toBe(1);
    expect(summary).toMatchObject({ status: 'partial', copied: ITEMS - 2, failed: 2, verified: ITEMS - 2, mismatched: 0 });
    expect(summary.problems.map((p) => [p.key, p.problem])).toEqual([
      [lost, 'unreadable-source'],
      [`k${pad(80)}`, 'unreadable-source'],
    ]);
    expect(run.stderr).toContain(`bwrite: key '${lost}': the source's value is missing`);
    expect(run.stderr).toContain(`bwrite: key 'k${pad(80)}': the source's value does not match`);
    expect(run.stderr).toMatch(/^bwrite: partial: .*failed 2/m);
    expectOnlyBwriteLines(run.stderr, 'a copy of a damaged source');
    expect((await getValue(to, lost)).code).toBe(1);
    await expectVerifies(to, 'a copy without the damaged values', true);

    // Importing the records again puts the blobs back right; the next copy brings both items over.
    await importOk(damaged, [join(damagedDir, 'damaged.ndjson')]);
    const again = await copy(damaged, to);
    expect(again.run.code, describeRun(again.args, again.run)).toBe(0);
    expect(again.summary).toMatchObject({ status: 'ok', copied: 2, skipped: ITEMS - 2, failed: 0, verified: ITEMS });
    expect(JSON.parse((await getValue(to, lost)).stdout)).toEqual(record(40));
  });

  it('a copy takes the source as it was when it began; keys written to the source meanwhile are listed as missing, exit 1, and the next copy brings them', async () => {
    const changing = await sourceStore(dir, 'changing-source', 20_000);
    const to = join(dir, 'copy-of-changing');
    const args = ['copy', '--from', changing, '--to', to, '--batch-size', '10', '--json', '--progress', 'none'];
    const running = startBwrite(args, { timeoutMs: 120_000 });
    await waitUntil(async () => Number((await statsJson(to).catch(() => ({ items: 0 }))).items) > 0, 'a first committed batch of the copy', 60_000, 50);
    // One key before every copied key, one after them all: the copy is past the first, not yet at the second.
    const added = ['a-added', 'z-added'].map((id) => JSON.stringify({ id })).join('\n') + '\n';
    await importOk(changing, [await writeText(join(dir, 'added.ndjson'), added)]);
    const run = await running.result;
    expect(run.code, describeRun(args, run)).toBe(1);
    const summary = parseSummary(args, run) as unknown as CopySummary;
    expect(summary).toMatchObject({ status: 'partial', read: 20_000, copied: 20_000, failed: 0, verified: 20_000, mismatched: 2 });
    expect(summary.problems).toEqual([
      { key: 'a-added', problem: 'missing', message: 'the copy has no item with this key' },
      { key: 'z-added', problem: 'missing', message: 'the copy has no item with this key' },
    ]);
    expect(run.stderr).toContain("bwrite: key 'a-added': the copy has no item with this key");
    expect(run.stderr).toMatch(/^bwrite: partial: .*mismatched 2; /m);

    const again = await copy(changing, to);
    expect(again.run.code, describeRun(again.args, again.run)).toBe(0);
    expect(again.summary).toMatchObject({ status: 'ok', resumed: false, copied: 2, skipped: 20_000, verified: 20_002, mismatched: 0 });
  }, 120_000);

  it('keys in any script are copied and checked in the index byte order, beside keys only the destination holds', async () => {
    // UTF-16 order and the index's UTF-8 byte order disagree between U+E000..U+FFFF and keys past U+FFFF.
    const keys = ['a', 'é', '\ue000x', '\ufffd', '😀', '😀😀', '𝄞', 'z'];
    const from = join(dir, 'scripts');
    await importOk(from, ['--batch-size', '2', await writeText(join(dir, 'scripts.ndjson'), keys.map((id, n) => JSON.stringify({ id, n })).join('\n') + '\n')]);
    const to = join(dir, 'scripts-copy');
    await importOk(to, [await writeText(join(dir, 'scripts-others.ndjson'), ['\ue001', '\ufffe', '😁', 'b'].map((id) => JSON.stringify({ id })).join('\n') + '\n')]);
    const { run, summary, args } = await copy(from, to, ['--batch-size', '2']);
    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', copied: keys.length, verified: keys.length, mismatched: 0, extra: 4 });
    for (const [n, key] of keys.entries()) expect(JSON.parse((await getValue(to, key)).stdout)).toEqual({ id: key, n });
    const again = await copy(from, to, ['--batch-size', '2']);
    expect(again.summary).toMatchObject({ status: 'ok', copied: 0, skipped: keys.length, verified: keys.length, extra: 4 });
  });

  it('a user who may only read the source copies it into a store of their own', async () => {
    const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString());
    const shared = await tempDir('bwrite-copy-readonly-');
    await chmod(shared, 0o755);
    const from = await sourceStore(shared, 'readable', 50);
    execFileSync('chmod', ['-R', 'a+rX,go-w', from]);
    const mine = join(shared, 'mine');
    await mkdir(mine);
    await chown(mine, nobody, 0);
    const to = join(mine, 'copy');
    const args = ['copy', '--from', from, '--to', to, '--json'];
    const run = await startCommand('runuser', ['-u', 'nobody', '--', process.execPath, binPath, ...args]).result;
    expect(run.code, describeRun(args, run)).toBe(0);
    expect(parseSummary(args, run)).toMatchObject({ status: 'ok', copied: 50, verified: 50 });
    expectSameExport(await exportText(to), await exportText(from), 'the copy made by a user who may only read the source');
  });

  it('--progress log prints a line every few seconds with the items copied so far', async () => {
    const to = join(dir, 'logged');
    const args = ['copy', '--from', big, '--to', to, '--batch-size', '50', '--progress', 'log'];
    const run = await runBwrite(args, { timeoutMs: 120_000, env: { BWRITE_PROGRESS_INTERVAL_MS: '20' } });
    expect(run.code, describeRun(args, run)).toBe(0);
    expect(run.stderr).toMatch(/^\S+Z bwrite: read [\d,]+, written [\d,]+, failed 0, [\d,]+ items\/s, [\d.]+ \S+ read \(\d+\.\d %\)$/m);
    expectOnlyBwriteLines(run.stderr.replace(/^\S+Z /gm, ''), 'a copy with --progress log');
  }, 120_000);

  it('a store that already holds other items keeps them: same keys take the source value, equal ones are left alone', async () => {
    const to = join(dir, 'merged');
    const others = await writeText(
      join(dir, 'others.ndjson'),
      [{ id: 'only-here', n: -1 }, { id: `k${pad(5)}`, n: 'old value' }, record(6)].map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
    await importOk(to, [others]);
    const { run, summary, args } = await copy(source, to);
    expect(run.code, describeRun(args, run)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', copied: ITEMS - 1, skipped: 1, verified: ITEMS, mismatched: 0, extra: 1 });
    expect(run.stderr).toMatch(/; 1 keys only in the destination kept$/m);
    expect(JSON.parse((await getValue(to, `k${pad(5)}`)).stdout)).toEqual(record(5));
    expect(JSON.parse((await getValue(to, 'only-here')).stdout)).toEqual({ id: 'only-here', n: -1 });
    expect((await statsJson(to)).items).toBe(ITEMS + 1);
    await expectVerifies(to, 'the merged store', true);
  });

  it('a key changed in the destination since the last copy takes the source value again on the next copy', async () => {
    const to = join(dir, 'changed-behind');
    expect((await copy(source, to)).run.code).toBe(0);
    await importOk(to, [await writeText(join(dir, 'changed.ndjson'), JSON.stringify({ id: `k${pad(9)}`, n: 'changed' }) + '\n')]);
    const { run, summary } = await copy(source, to);
    expect(run.code).toBe(0);
    expect(summary).toMatchObject({ copied: 1, skipped: ITEMS - 1, mismatched: 0 });
    expect(JSON.parse((await getValue(to, `k${pad(9)}`)).stdout)).toEqual(record(9));
  });
});

describe('bwrite copy: bad invocations and unusable stores', () => {
  let dir: string;
  let source: string;

  beforeAll(async () => {
    dir = await tempDir('bwrite-copy-bad-');
    source = await sourceStore(dir, 'source', 10);
  }, 60_000);

  const cases: [string, (d: string, s: string) => string[], RegExp][] = [
    ['without --from', (d) => ['copy', '--to', join(d, 'x')], /required option '--from <store>' not specified/],
    ['without --to', (_, s) => ['copy', '--from', s], /required option '--to <store>' not specified/],
    ['with the same store for both', (_, s) => ['copy', '--from', s, '--to', s], /--from and --to name the same store/],
    ['with the same store spelt two ways', (_, s) => ['copy', '--from', s, '--to', `${s}/.`], /--from and --to name the same store/],
    ['with an empty --to', (_, s) => ['copy', '--from', s, '--to', ''], /option '--to <store>' argument '' is invalid/],
    ['with --batch-size 0', (d, s) => ['copy', '--from', s, '--to', join(d, 'x'), '--batch-size', '0'], /--batch-size/],
  ];
  for (const [what, argsOf, message] of cases) {
    it(`a copy ${what} is a usage error: exit 2, one line`, async () => {
      const args = argsOf(dir, source);
      const run = await runBwrite(args);
      expect(run.code, describeRun(args, run)).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    });
  }

  it('a copy to a link to the source is refused as the same store', async () => {
    const link = join(dir, 'link-to-source');
    await symlink(source, link);
    const run = await runBwrite(['copy', '--from', source, '--to', link]);
    expect(run.code).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toMatch(/the same store/);
  });

  it('a source that is not a store is exit 3, and nothing is created at the destination', async () => {
    const to = join(dir, 'never-made');
    const run = await runBwrite(['copy', '--from', join(dir, 'no-such-store'), '--to', to]);
    expect(run.code).toBe(3);
    expectErrorLine(run);
    expect(run.stderr).toMatch(/there is no bwrite store at .*no-such-store/);
    expect((await runBwrite(['stats', '--store', to])).code).toBe(3);
  });

  it('a destination that is a directory of other files is exit 3', async () => {
    const to = join(dir, 'not-a-store');
    await mkdir(to);
    await writeFile(join(to, 'notes.txt'), 'mine');
    const run = await runBwrite(['copy', '--from', source, '--to', to]);
    expect(run.code).toBe(3);
    expectErrorLine(run);
    expect(run.stderr).toMatch(/is not a bwrite store/);
  });
});

describe('copyStore in the library', () => {
  it('copies a store a program wrote into another that bin/bwrite then reads, with the counts of the CLI', async () => {
    const dir = await tempDir('bwrite-copy-lib-');
    const from = await openStore(join(dir, 'from'));
    try {
      const writer = new BatchWriter(from, { inlineMax: 8 });
      await writer.writeBatch([
        { key: 'short', value: '1' },
        { key: 'long', value: '{"text":"more than eight bytes"}' },
        { key: 'bytes', value: Buffer.from([0, 1, 2]), type: 'raw' },
      ]);
      await writer.close();
    } finally {
      await from.close();
    }
    const source = await openStore(join(dir, 'from'), { readOnly: true });
    const target = await openStore(join(dir, 'to'));
    let report;
    try {
      report = await copyStore(source, target, { inlineMax: 0 });
    } finally {
      await target.close();
      await source.close();
    }
    expect(report).toMatchObject({ status: 'ok', read: 3, copied: 3, skipped: 0, failed: 0, verified: 3, mismatched: 0, extra: 0, problems: [] });
    expect((await getValue(join(dir, 'to'), 'long')).stdout).toBe('{"text":"more than eight bytes"}\n');
    const stats = await statsJson(join(dir, 'to'));
    expect(stats.byType).toMatchObject({ raw: { items: 1, bytes: 3 }, json: { items: 2 } });
    await expectVerifies(join(dir, 'to'), 'a copy made by the library', true);
  });
});
