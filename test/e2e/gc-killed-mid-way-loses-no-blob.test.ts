// gc moves a blob into tmp/gc-<digest>.<pid> to re-check it before deleting it. A gc killed with
// SIGKILL in between leaves exactly that: the blob gone from blobs/, its only copy in tmp/. These
// tests make that leftover by hand and check that nothing is lost.
import { readdir, rename, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, importOk } from '../helpers/store.js';
import { exists, expectSameExport, expectVerifies, exportText, pad } from '../helpers/robustness.js';

/** Imports 50 records as blob files; returns the store, its export, and the path of one blob. */
async function storeWithBlobs(work: string): Promise<{ store: string; before: string; digest: string; blob: string }> {
  const store = join(work, 'store');
  await importOk(store, ['--inline-max', '0', await writeText(join(work, 'in.ndjson'), ndjson(50, (i) => ({ id: `g${pad(i)}`, n: i })))]);
  const fan = (await readdir(join(store, 'blobs')))[0]!;
  const digest = (await readdir(join(store, 'blobs', fan)))[0]!;
  return { store, before: await exportText(store), digest, blob: join(store, 'blobs', fan, digest) };
}

/** What a gc killed between its two renames leaves: the blob moved aside, an hour old. */
async function leaveAside(store: string, digest: string, blob: string): Promise<string> {
  const aside = join(store, 'tmp', `gc-${digest}.424242`);
  const hourAgo = new Date(Date.now() - 3600_000);
  await utimes(blob, hourAgo, hourAgo);
  await rename(blob, aside);
  return aside;
}

describe('a gc killed between setting a blob aside and putting it back loses nothing', () => {
  it('verify names the missing blob and where it is; the next gc puts it back, and verify --deep and export are as before', async () => {
    const work = await tempDir();
    const { store, before, digest, blob } = await storeWithBlobs(work);
    const aside = await leaveAside(store, digest, blob);

    const broken = await runBwrite(['verify', '--store', store]);
    expect(broken.code, describeRun(['verify'], broken)).toBe(1);
    expect(broken.stdout).toContain(`blob ${digest} is missing (an interrupted gc left it in tmp/: 'bwrite gc' puts it back)`);

    const gc = await runBwrite(['gc', '--store', store]);
    expect(gc.code, describeRun(['gc'], gc)).toBe(0);
    expect(gc.stdout).toContain('put back 1 blob an interrupted gc had left in tmp/');
    expect(gc.stdout).toMatch(/^removed 0 blobs and 0 temporary files/m);
    expect(await exists(blob)).toBe(true);
    expect(await exists(aside)).toBe(false);
    await expectVerifies(store, 'after gc put the blob back', true);
    expectSameExport(await exportText(store), before, 'after gc put the blob back');
  });

  it('an import puts the blob back before it writes, so the store verifies without a gc', async () => {
    const work = await tempDir();
    const { store, before, digest, blob } = await storeWithBlobs(work);
    await leaveAside(store, digest, blob);

    await importOk(store, [await writeText(join(work, 'other.ndjson'), ndjson(3, (i) => ({ id: `other${i}` })))]);

    expect(await exists(blob)).toBe(true);
    await expectVerifies(store, 'after an import', true);
    // 'other…' keys sort after 'g…': the earlier entries are unchanged, first in the export.
    expect((await exportText(store)).startsWith(before)).toBe(true);
  });

  it('a set-aside blob that nothing refers to is garbage again: gc puts it back, then removes it', async () => {
    const work = await tempDir();
    const { store, digest, blob } = await storeWithBlobs(work);
    // Its key now has another value: nothing refers to the old blob any more.
    await importOk(store, ['--inline-max', '0', await writeText(join(work, 'replace.ndjson'), ndjson(50, (i) => ({ id: `g${pad(i)}`, n: -i, replaced: true })))]);
    await leaveAside(store, digest, blob);

    const gc = await runBwrite(['gc', '--store', store, '--json']);
    expect(gc.code, describeRun(['gc'], gc)).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ restoredBlobs: 1, removedTempFiles: 0 });
    expect(JSON.parse(gc.stdout).removedBlobs).toBeGreaterThanOrEqual(1);
    expect(await exists(blob)).toBe(false);
    expect(await readdir(join(store, 'tmp'))).toEqual([]);
    await expectVerifies(store, 'after gc', true);
  });
});
