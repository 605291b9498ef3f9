import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../dist/store/schema.js';
import { binPath, ndjson, runBwrite, startBwrite, startCommand, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { waitUntil } from '../helpers/robustness.js';
import { describeRun, importOk, sha256 } from '../helpers/store.js';

// A monitoring user, a snapshot, a read-only bind mount: a user who may read a store but not write
// it. We run as root, who may write anywhere, so that user is `nobody`.

const NOBODY_GID = Number(execFileSync('id', ['-g', 'nobody']).toString());

function startAsNobody(args: string[]) {
  return startCommand('runuser', ['-u', 'nobody', '--', process.execPath, binPath, ...args]);
}

function asNobody(args: string[]): Promise<RunResult> {
  return startAsNobody(args).result;
}

interface Access {
  dirMode: number;
  fileMode: number;
  /** Give the store to nobody's group (owner still root): nobody then reads through the group bits. */
  group: boolean;
}

const OTHERS_READ: Access = { dirMode: 0o755, fileMode: 0o644, group: false };

/** Every directory and file under `dir` gets the modes (and group) of `access`, owned by root. */
async function makeReadable(dir: string, access: Access): Promise<void> {
  const set = async (path: string, mode: number) => {
    await chown(path, 0, access.group ? NOBODY_GID : 0);
    await chmod(path, mode);
  };
  await set(dir, access.dirMode);
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await lstat(path)).isDirectory()) await makeReadable(path, access);
    else await set(path, access.fileMode);
  }
}

/** Each path under `dir` with its mode, owner, group and size, and (`withTimes`) its times to the nanosecond. */
async function listing(dir: string, withTimes = true): Promise<string[]> {
  const lines: string[] = [];
  async function visit(current: string, rel: string): Promise<void> {
    for (const name of await readdir(current)) {
      const path = join(current, name);
      const stat = await lstat(path, { bigint: true });
      const times = withTimes ? ` m${stat.mtimeNs} c${stat.ctimeNs}` : '';
      const size = stat.isDirectory() ? '' : ` ${stat.size}`;
      lines.push(`${rel}${name} ${(stat.mode & 0o7777n).toString(8)} ${stat.uid}:${stat.gid}${size}${times}`);
      if (stat.isDirectory()) await visit(path, `${rel}${name}/`);
    }
  }
  await visit(dir, '');
  return lines.sort();
}

/** A temporary directory nobody can walk through (mkdtemp makes it 0700). */
async function traversableDir(): Promise<string> {
  const dir = await tempDir();
  await chmod(dir, 0o755);
  return dir;
}

/** A store of values kept inside index.db (keys i0–i2) and in blob files (b1–b4; b1 and b4 share one). */
async function storeWithValues(dir: string): Promise<string> {
  const store = join(dir, 'store');
  const inline = await writeText(join(dir, 'inline.ndjson'), ndjson(3, (i) => ({ id: `i${i}`, n: i, note: 'kept inside index.db' })));
  const blobs = await writeText(join(dir, 'blobs.ndjson'), ndjson(4, (i) => ({ text: `in a blob file ${i % 3}` })));
  await importOk(store, [inline]);
  await importOk(store, ['--inline-max', '0', '--key', 'b{$line}', blobs]);
  return store;
}

const READ_COMMANDS: { args: string[]; code: number }[] = [
  { args: ['stats'], code: 0 },
  { args: ['stats', '--json'], code: 0 },
  { args: ['stats', '--prometheus'], code: 0 },
  { args: ['get', 'i1'], code: 0 },
  { args: ['get', 'b2'], code: 0 },
  { args: ['get', 'absent'], code: 1 },
  { args: ['export'], code: 0 },
  { args: ['export', '--with-keys'], code: 0 },
  { args: ['export', '--prefix', 'b'], code: 0 },
  { args: ['verify'], code: 0 },
  { args: ['verify', '--deep'], code: 0 },
  { args: ['verify', '--json'], code: 0 },
  { args: ['verify', '--deep', '--json'], code: 0 },
];

/**
 * Stats output without the time its distinct values were counted: a store this small is counted by
 * each stats that reads it, and nobody, who may not keep the count, counts it earlier than the owner.
 */
function withoutCountTime(stdout: string): string {
  return stdout.replace(/"valuesCountedAt":"[^"]+"/, '"valuesCountedAt":"…"').replace(/^(bwrite_store_values_counted_timestamp_seconds) \S+$/m, '$1 …');
}

describe('a store can be read by a user who may not write it', () => {
  it.each([
    { what: 'others may read it (directories 0755, files 0644)', access: OTHERS_READ },
    { what: 'only its group may read it (directories 0750, files 0640)', access: { dirMode: 0o750, fileMode: 0o640, group: true } },
  ])('when $what, get, export, stats and verify print what the owner sees, and change no file or mode', async ({ access }) => {
    const dir = await traversableDir();
    const store = await storeWithValues(dir);
    await makeReadable(store, access);
    const before = await listing(store);
    // Every command has closed: SQLite removed the log and its index, as it does when the last connection closes.
    expect(before.filter((line) => line.startsWith('index.db-'))).toEqual([]);

    const byNobody: RunResult[] = [];
    for (const { args, code } of READ_COMMANDS) {
      const run = await asNobody([...args, '--store', store]);
      expect(run.code, `as nobody: ${describeRun(args, run)}`).toBe(code);
      byNobody.push(run);
    }
    expect(await listing(store), 'nobody read the store').toEqual(before);

    for (const [i, { args }] of READ_COMMANDS.entries()) {
      const run = await runBwrite([...args, '--store', store]);
      expect({ code: run.code, stdout: withoutCountTime(run.stdout), stderr: run.stderr }, `nobody and the owner differ: bwrite ${args.join(' ')}`).toEqual({
        code: byNobody[i]!.code,
        stdout: withoutCountTime(byNobody[i]!.stdout),
        stderr: byNobody[i]!.stderr,
      });
    }
    // The owner's read commands leave the modes the owner chose, and no file behind.
    expect(await listing(store, false), 'the owner read the store').toEqual(before.map((line) => line.replace(/ m\d+ c\d+$/, '')));
  });

  it('reads what a running import has committed to the log and not yet copied into index.db', async () => {
    const dir = await traversableDir();
    const store = await storeWithValues(dir);
    const feed = startBwrite(['import', '--store', store, '--source-name', 'feed', '-q', '-'], { keepStdinOpen: true });
    try {
      // Input that stays silent for a second is committed, and the import waits for more.
      feed.child.stdin!.write('{"id":"live1","n":1}\n{"id":"live2","n":2}\n');
      await waitUntil(async () => (await runBwrite(['get', 'live2', '--store', store])).code === 0, 'the import to commit its first records');
      await makeReadable(store, OTHERS_READ);
      expect(await listing(store, false)).toContainEqual(expect.stringMatching(/^index\.db-wal 644 0:0 [1-9]\d*$/));

      const get = await asNobody(['get', 'live2', '--store', store]);
      expect(get.code, describeRun(['get', 'live2'], get)).toBe(0);
      expect(get.stdout).toBe('{"id":"live2","n":2}\n');
      for (const args of [['export', '--with-keys'], ['stats', '--json'], ['verify', '--deep']]) {
        const [mine, theirs] = [await runBwrite([...args, '--store', store]), await asNobody([...args, '--store', store])];
        expect({ code: theirs.code, stdout: theirs.stdout }, `as nobody: ${describeRun(args, theirs)}`).toEqual({ code: mine.code, stdout: mine.stdout });
      }
    } finally {
      feed.child.stdin!.end();
    }
    expect((await feed.result).code).toBe(0);
  });

  it('keeps read access the owner gave while an import runs and after it: commands that write keep the mode of index.db', async () => {
    const dir = await traversableDir();
    const store = await storeWithValues(dir);
    await makeReadable(store, { dirMode: 0o750, fileMode: 0o640, group: true });
    const feed = startBwrite(['import', '--store', store, '--source-name', 'feed', '-q', '-'], { keepStdinOpen: true });
    try {
      feed.child.stdin!.write('{"id":"live1","n":1}\n');
      await waitUntil(async () => (await runBwrite(['get', 'live1', '--store', store])).code === 0, 'the import to commit its first record');
      // SQLite gives the log and its index the mode of index.db.
      expect((await listing(store, false)).filter((line) => line.startsWith('index.db'))).toEqual([
        expect.stringMatching(/^index\.db 640 0:\d+ \d+$/),
        expect.stringMatching(/^index\.db-shm 640 0:\d+ \d+$/),
        expect.stringMatching(/^index\.db-wal 640 0:\d+ \d+$/),
      ]);
      const during = await asNobody(['get', 'live1', '--store', store]);
      expect(during.code, describeRun(['get', 'live1'], during)).toBe(0);
    } finally {
      feed.child.stdin!.end();
    }
    expect((await feed.result).code).toBe(0);
    await importOk(store, [await writeText(join(dir, 'more.ndjson'), '{"id":"after","n":2}\n')]);

    expect(await listing(store, false)).toContainEqual(expect.stringMatching(/^index\.db 640 0:\d+ \d+$/));
    const after = await asNobody(['stats', '--json', '--store', store]);
    expect(after.code, describeRun(['stats'], after)).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ items: 9 });
  });

  it('a store made by an older bwrite is upgraded by its owner, and a user who may not write it is told so', async () => {
    const dir = await traversableDir();
    const store = join(dir, 'store');
    await mkdir(join(store, 'blobs'), { recursive: true });
    await mkdir(join(store, 'tmp'));
    const db = new Database(join(store, 'index.db'));
    db.pragma('journal_mode = WAL');
    db.exec(MIGRATIONS[0]!);
    db.prepare(`INSERT INTO meta (name, value) VALUES ('app', 'bwrite'), ('schema_version', '1')`).run();
    const insert = db.prepare(`INSERT INTO items (key, sha256, size, type, inline, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0)`);
    for (const [key, value] of [['a', '{"v":1}'], ['b', '{"v":22}']] as const) insert.run(key, sha256(value), value.length, 'json', Buffer.from(value));
    db.close();
    await makeReadable(store, OTHERS_READ);
    const before = await listing(store);

    for (const args of [['stats'], ['get', 'a']]) {
      const run = await asNobody([...args, '--store', store]);
      expect(run.code, describeRun(args, run)).toBe(3);
      expect(run.stderr).toMatch(/^bwrite: error: \S+index\.db was made by an older bwrite \(schema version 1, this one uses \d+\) and this user may not upgrade it; run a command that writes, such as 'bwrite gc', as the store's owner\n$/);
      expect(run.stdout).toBe('');
    }
    expect(await listing(store)).toEqual(before);

    const owner = await runBwrite(['stats', '--json', '--store', store]);
    expect(owner.code, describeRun(['stats'], owner)).toBe(0);
    expect(JSON.parse(owner.stdout)).toMatchObject({ items: 2, bytes: 15 });
    const nobody = await asNobody(['stats', '--json', '--store', store]);
    expect(nobody.code, describeRun(['stats'], nobody)).toBe(0);
    expect(nobody.stdout).toBe(owner.stdout);
  });

  const record = (i: number, round: number) => ({ id: `k${String(i).padStart(5, '0')}`, round, pad: 'x'.repeat(150) });

  /** Lets `reader` (an export) stop part way on a full pipe, replaces every value, then lets it go on. */
  async function replaceAllDuringExport(dir: string, store: string, reader: ReturnType<typeof startCommand>): Promise<RunResult> {
    reader.child.stdout!.pause();
    await waitUntil(() => reader.child.stdout!.readableLength > 0, 'export to start writing');
    await importOk(store, [await writeText(join(dir, 'second.ndjson'), ndjson(4000, (i) => record(i, 2)))]);
    reader.child.stdout!.resume();
    return reader.result;
  }

  it('the owner exporting while an import replaces every value gets the store as it was when the export started', async () => {
    const dir = await traversableDir();
    const store = join(dir, 'store');
    await importOk(store, [await writeText(join(dir, 'first.ndjson'), ndjson(4000, (i) => record(i, 1)))]);

    // The owner may write the index, so its export reads under SQLite's locks, like any reader of the log.
    const run = await replaceAllDuringExport(dir, store, startBwrite(['export', '--store', store]));
    expect(run.code, describeRun(['export'], run)).toBe(0);
    const lines = run.stdout.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(4000);
    expect(lines.every((line) => line.includes('"round":1'))).toBe(true);
  });

  it('a read that a command writing at the same time changed under it fails with exit 3 instead of being trusted', async () => {
    const dir = await traversableDir();
    const store = join(dir, 'store');
    await importOk(store, [await writeText(join(dir, 'first.ndjson'), ndjson(4000, (i) => record(i, 1)))]);
    await makeReadable(store, OTHERS_READ);

    // Nobody's export reads index.db without SQLite's locks (there is no log, and nobody may not
    // create one). Meanwhile the owner replaces every value: the import copies its log into
    // index.db as it ends.
    const run = await replaceAllDuringExport(dir, store, startAsNobody(['export', '--store', store]));
    expect(run.code, describeRun(['export'], run)).toBe(3);
    expect(run.stderr).toMatch(/index\.db changed while it was being read: .*; run the command again\n$/);

    // Run again, it exports the new values.
    const again = await asNobody(['export', '--store', store]);
    expect(again.code, describeRun(['export'], again)).toBe(0);
    expect(again.stdout.split('\n').filter((line) => line.includes('"round":2'))).toHaveLength(4000);
  });
});

describe('stats --recount by a user who may not write the store', () => {
  it('counts the distinct values of a store above 10,000 items for that user, and keeps nothing', async () => {
    const dir = await traversableDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'items.ndjson'), ndjson(10_001, (i) => ({ group: i % 50 })));
    await importOk(store, ['--key', 'k{$line}', file]);
    await makeReadable(store, OTHERS_READ);
    const before = await listing(store);

    const run = await asNobody(['stats', '--recount', '--json', '--store', store]);
    expect(run.code, describeRun(['stats', '--recount'], run)).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ items: 10_001, blobs: 0, inlineValues: 50, valuesCurrent: true });
    expect(await listing(store), 'nobody read the store').toEqual(before);
    // The owner's stats has no count to show: nobody's was not kept.
    const owner = await runBwrite(['stats', '--json', '--store', store]);
    expect(JSON.parse(owner.stdout)).toMatchObject({ items: 10_001, blobs: null, valuesCountedAt: null, valuesCurrent: false });
  });
});

describe('a store its user may not even look into', () => {
  it('is reported as not readable (permission denied), not as missing', async () => {
    const dir = await traversableDir();
    const store = await storeWithValues(dir);
    await chmod(store, 0o700);

    const run = await asNobody(['stats', '--store', store]);

    expect(run.code, describeRun(['stats'], run)).toBe(3);
    expect(run.stderr).toMatch(/^bwrite: error: cannot use the store at .*permission denied/m);
    expect(run.stderr).not.toMatch(/there is no bwrite store/);
  });
});
