import { readdir, readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBwrite, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, expectErrorLine, importJson } from '../helpers/store.js';
import { exists, waitUntil } from '../helpers/robustness.js';

interface GcFailures {
  removed: { file: string; bytes: number; modifiedAt: string }[];
  freedBytes: number;
  spared: number;
}

const DAY_MS = 86_400_000;

/** An import with one bad record: returns its failures file. */
async function failingImport(store: string, dir: string, name: string, extra: string[] = []): Promise<string> {
  const file = await writeText(join(dir, `${name}.ndjson`), '{"id":"ok"}\n{"no":"id"}\n');
  const { run, summary, args } = await importJson(store, [...extra, file]);
  expect(run.code, describeRun(args, run)).toBe(1);
  return summary.failuresFile!;
}

async function age(file: string, days: number): Promise<void> {
  const then = new Date(Date.now() - days * DAY_MS);
  await utimes(file, then, then);
}

describe('gc --failures-older-than', () => {
  it('removes the failures files last written before then, keeps newer ones and those outside the store, and says what it removed', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const old1 = await failingImport(store, dir, 'a');
    const old2 = await failingImport(store, dir, 'b');
    const recent = await failingImport(store, dir, 'c');
    const outside = await failingImport(store, dir, 'd', ['--failures', join(dir, 'mine', 'failures.ndjson')]);
    for (const file of [old1, old2, outside]) await age(file, 40);

    const dry = await runBwrite(['gc', '--store', store, '--failures-older-than', '30d', '--dry-run']);
    expect(dry.code, describeRun(['gc', '--dry-run'], dry)).toBe(0);
    expect(dry.stdout).toMatch(/^would remove 0 blobs and 0 temporary files, 0 B; would remove 2 old failures files, \d+ B\n$/);
    for (const file of [old1, old2]) expect(await exists(file), 'a dry run removes nothing').toBe(true);

    const args = ['gc', '--store', store, '--failures-older-than', '30d', '--json'];
    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    const { failures } = JSON.parse(run.stdout) as { failures: GcFailures };
    const sizes = (await Promise.all([old1, old2].map((file) => stat(file).catch(() => null)))).filter(Boolean);
    expect(sizes, 'the old files are gone').toEqual([]);
    expect(failures.removed.map((entry) => entry.file).sort()).toEqual([old1, old2].sort());
    expect(failures.freedBytes).toBe(failures.removed.reduce((sum, entry) => sum + entry.bytes, 0));
    expect(failures.freedBytes).toBeGreaterThan(0);
    expect(Date.now() - Date.parse(failures.removed[0]!.modifiedAt)).toBeGreaterThan(39 * DAY_MS);
    expect(await exists(recent)).toBe(true);
    expect(await exists(outside), 'a --failures path outside the store is the user’s').toBe(true);

    const plain = await runBwrite(['gc', '--store', store, '--json']);
    expect(JSON.parse(plain.stdout)).toMatchObject({ failures: null });
  });

  it('never removes the failures file of an import still running, however old', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const importing = startBwrite(['import', '--store', store, '--json', '-'], { keepStdinOpen: true });
    importing.child.stdin!.write('{"no":"id"}\n{"id":"a"}\n');
    const failuresDir = join(store, 'failures');
    // The file is created before its first entry is appended: wait for the entry, so that no
    // write after the file is aged makes it young again.
    const written = async () => {
      const [name] = await readdir(failuresDir).catch(() => []);
      return name !== undefined && (await readFile(join(failuresDir, name), 'utf8')).endsWith('\n');
    };
    await waitUntil(written, 'the import to write its failure entry');
    const [name] = await readdir(failuresDir);
    const file = join(failuresDir, name!);
    await age(file, 40);

    const args = ['gc', '--store', store, '--failures-older-than', '1m', '--json'];
    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect((JSON.parse(run.stdout) as { failures: GcFailures }).failures).toEqual({ removed: [], freedBytes: 0, spared: 1 });
    const text = await runBwrite(['gc', '--store', store, '--failures-older-than', '1m']);
    expect(text.stdout).toContain('removed 0 old failures files, 0 B (kept 1 file of runs still running)');
    expect(await exists(file)).toBe(true);
    importing.child.stdin!.end();
    expect((await importing.result).code).toBe(1);
    await age(file, 40);
    const after = await runBwrite(args);
    expect((JSON.parse(after.stdout) as { failures: GcFailures }).failures.removed.map((entry) => entry.file)).toEqual([file]);
  }, 60_000);

  it.each(['30', '3x', '-1d', '1.5h', ''])('a bad duration (%j) is a usage error: exit 2, one line naming the option', async (value) => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await failingImport(store, dir, 'a');
    const args = ['gc', '--store', store, '--failures-older-than', value];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toContain('--failures-older-than');
    expect(run.stderr).toContain('30d, 12h or 90m');
  });

  it("the cron lines of --help each log one line per run", async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const log = await writeText(join(dir, 'events.ndjson'), '{"id":"a"}\n{"id":"b"}\n');
    const metrics = join(dir, 'bwrite.prom');
    const cronLine = (help: string) => help.split('\n').find((line) => /^\s*[0-9*/]+ \S+ \S+ \S+ \S+ bwrite /.test(line))!.trim();
    const argsOf = (line: string) => line.replace(/^(\S+ ){5}bwrite /, '').replace(/ >>.*$/, '').split(' ');
    const importLine = cronLine((await runBwrite(['import', '--help'])).stdout);
    const gcLine = cronLine((await runBwrite(['gc', '--help'])).stdout);
    const importArgs = argsOf(importLine).map((arg) => (arg.endsWith('.prom') ? metrics : arg.endsWith('.ndjson') ? log : arg));

    for (const [args, line] of [
      [importArgs, /^bwrite: ok: read 2, written 2, /],
      [importArgs, /^bwrite: ok: read 2, written 0, skipped 2, /],
      [argsOf(gcLine), /^removed 0 blobs and 0 temporary files, 0 B; removed 0 old failures files, 0 B$/],
    ] as const) {
      const run = await runBwrite([...args, '--store', store]);
      expect(run.code, describeRun(args, run)).toBe(0);
      const logged = (run.stdout + run.stderr).split('\n').filter((text) => text !== '');
      expect(logged, describeRun(args, run)).toHaveLength(1);
      expect(logged[0]).toMatch(line);
    }
    expect(await exists(metrics)).toBe(true);
  });
});
