import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binPath, runBwrite, startCommand, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { describeRun, expectErrorLine, importOk, readFailures } from '../helpers/store.js';

// One record that is stored and one that fails: a run that happens needs the failures file.
const INPUT = '{"id":"a"}\n{"no":"key"}\n';
const NOBODY = 65534;

/** `bwrite ARGS` as the user nobody, who cannot write what root made. */
function runAsNobody(args: string[]): Promise<RunResult> {
  return startCommand('runuser', ['-u', 'nobody', '--', process.execPath, binPath, ...args]).result;
}

/** A temp dir nobody can traverse (not write), with an input it can read and a store directory of its own. */
async function nobodyWorkspace(): Promise<{ dir: string; input: string; store: string }> {
  const dir = await tempDir();
  await chmod(dir, 0o755);
  const input = await writeText(join(dir, 'in.ndjson'), INPUT);
  await chmod(input, 0o644);
  const own = join(dir, 'nobody');
  await mkdir(own);
  await chown(own, NOBODY, NOBODY);
  return { dir, input, store: join(own, 'store') };
}

function expectUsageError(args: string[], run: RunResult, failures: string, why: string): void {
  expect(run.code, describeRun(args, run)).toBe(2);
  expectErrorLine(run);
  expect(run.stderr).toBe(`bwrite: error: --failures ${failures}: ${why}\n`);
}

describe('--failures FILE that cannot be written is a usage error before anything is read', () => {
  it('a directory given as FILE: exit 2 naming it, and no store is created', async () => {
    const dir = await tempDir();
    const input = await writeText(join(dir, 'in.ndjson'), INPUT);
    const failures = join(dir, 'failures');
    await mkdir(failures);
    const args = ['import', input, '--store', join(dir, 'store'), '--failures', failures];

    const run = await runBwrite(args);

    expectUsageError(args, run, failures, 'it is a directory');
    expect((await readdir(dir)).sort()).toEqual(['failures', 'in.ndjson']);
    expect(await readdir(failures)).toEqual([]);
  });

  it('a path under a regular file: exit 2 naming the file, and nothing is created', async () => {
    const dir = await tempDir();
    const input = await writeText(join(dir, 'in.ndjson'), INPUT);
    const failures = join(input, 'sub', 'failures.ndjson');
    const args = ['import', input, '--store', join(dir, 'store'), '--failures', failures];

    const run = await runBwrite(args);

    expectUsageError(args, run, failures, `${input} is not a directory`);
    expect(await readdir(dir)).toEqual(['in.ndjson']);
  });

  it('a directory the user cannot write: exit 2 for its user, nothing imported or created', async () => {
    const { dir, input, store } = await nobodyWorkspace();
    const rootOnly = join(dir, 'root-only');
    await mkdir(rootOnly, { mode: 0o755 });
    for (const failures of [join(rootOnly, 'failures.ndjson'), join(rootOnly, 'not', 'yet', 'failures.ndjson')]) {
      const args = ['import', input, '--store', store, '--failures', failures];

      const run = await runAsNobody(args);

      expectUsageError(args, run, failures, `the directory ${rootOnly} is not writable`);
      expect(existsSync(store)).toBe(false);
      expect(await readdir(rootOnly)).toEqual([]);
    }
  });

  it('an existing file the user cannot write: exit 2 for its user, and the file is left as it was', async () => {
    const { dir, input, store } = await nobodyWorkspace();
    const failures = await writeText(join(dir, 'failures.ndjson'), '');
    await chmod(failures, 0o644);
    const args = ['import', input, '--store', store, '--failures', failures];

    const run = await runAsNobody(args);

    expectUsageError(args, run, failures, 'the file is not writable');
    expect(existsSync(store)).toBe(false);
  });

  it('directories that do not exist yet are fine: they are made on the first failure, and not at all when nothing fails', async () => {
    const dir = await tempDir();
    const good = await writeText(join(dir, 'good.ndjson'), '{"id":"a"}\n');
    const mixed = await writeText(join(dir, 'mixed.ndjson'), INPUT);
    const store = join(dir, 'store');
    const failures = join(dir, 'reports', 'today', 'failures.ndjson');

    await importOk(store, [good, '--failures', failures]);
    expect(existsSync(join(dir, 'reports'))).toBe(false);

    const args = ['import', mixed, '--store', store, '--failures', failures, '--json'];
    const run = await runBwrite(args);
    expect(run.code, describeRun(args, run)).toBe(1);
    expect(await readFailures(failures, dir)).toMatchObject([{ line: 2, code: 'E_KEY_MISSING' }]);
  });
});
