// A store whose index is in PostgreSQL behaves as a local store does: the same commands, outputs,
// --json fields and exit codes. Runs against the server scripts/services starts (BWRITE_TEST_PG_URL).
import { appendFile, chmod, readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openStore } from '../../dist/index.js';
import { linesOf, ndjson, runBwrite, startBwrite, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { pgPassword, pgQuery, pgStore, pgUrl } from '../helpers/postgres.js';

interface Place {
  dir: string;
  env: Record<string, string>;
}

/** A working directory whose failures files (of a PostgreSQL store) go under it: XDG_STATE_HOME. */
async function place(): Promise<Place> {
  const dir = await tempDir('bwrite-pg-');
  return { dir, env: { XDG_STATE_HOME: join(dir, 'state') } };
}

function bwrite(where: Place, args: string[], input?: string): Promise<RunResult> {
  return runBwrite(args, { cwd: where.dir, env: where.env, input });
}

/** What a stats --json says of a store, without what differs between two stores fed alike (name, run ids, times, speeds). */
function comparable(statsJson: string): unknown {
  const stats = JSON.parse(statsJson) as { store: string; valuesCountedAt: string; runs: Record<string, unknown>[] };
  const { store: _store, valuesCountedAt: _at, runs, ...rest } = stats;
  return {
    ...rest,
    runs: runs.map(({ command, status, read, written, skipped, failed, deleted }) => ({ command, status, read, written, skipped, failed, deleted })),
  };
}

function summaryOf(run: RunResult): Record<string, unknown> {
  const { status, read, written, skipped, failed, retries, bytes } = JSON.parse(linesOf(run.stdout).at(-1)!) as Record<string, unknown>;
  return { code: run.code, status, read, written, skipped, failed, retries, bytes };
}

/** A delete's --json summary without its run id and duration. */
function deleteSummary(run: RunResult): Record<string, unknown> {
  const { runId: _id, durationMs: _ms, ...rest } = JSON.parse(run.stdout) as Record<string, unknown>;
  return { code: run.code, ...rest };
}

/** Items the store's table in PostgreSQL holds: the store is there, not in a directory. */
async function itemsInPostgres(schema: string): Promise<number> {
  return Number((await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".items`))[0]!.n);
}

const records = (n: number, from = 0, tag = 'a') => ndjson(n, (i) => ({ id: `k${String(i + from).padStart(4, '0')}`, tag, body: 'x'.repeat((i * 37) % 300) }));

describe.runIf(Boolean(pgUrl))('a store in PostgreSQL', () => {
  test('every command gives on a PostgreSQL store what it gives on a local store fed the same input', async () => {
    const where = await place();
    const { url } = pgStore();
    const local = join(where.dir, 'local-store');
    // Keys with LIKE's wildcards and its escape, and beyond ASCII: prefixes and order stay bytewise.
    const odd = ['a%b', 'a_b', 'axb', 'a\\b', 'é', 'z'].map((id) => JSON.stringify({ id })).join('\n') + '\n';
    const input = await writeText(join(where.dir, 'in.ndjson'), records(300) + '{"id": broken\n' + records(50, 100, 'b') + odd);
    const stores = [url, local];

    const imports = await Promise.all(stores.map((store) => bwrite(where, ['import', input, '--key', 'id', '--store', store, '--json'])));
    expect(summaryOf(imports[0]!)).toEqual(summaryOf(imports[1]!));
    expect(imports[0]!.code).toBe(1);

    for (const args of [['get', 'k0042'], ['export'], ['export', '--prefix', 'k01'], ['export', '--prefix', 'a_'], ['export', '--prefix', 'a%'], ['verify', '--deep'], ['gc']]) {
      const [pg, file] = await Promise.all(stores.map((store) => bwrite(where, [...args, '--store', store])));
      expect({ code: pg!.code, stdout: pg!.stdout }, args.join(' ')).toEqual({ code: file!.code, stdout: file!.stdout });
    }
    const [pgStats, fileStats] = await Promise.all(stores.map((store) => bwrite(where, ['stats', '--json', '--store', store])));
    expect(comparable(pgStats!.stdout)).toEqual(comparable(fileStats!.stdout));
    const [pgMetrics, fileMetrics] = await Promise.all(stores.map((store) => bwrite(where, ['stats', '--prometheus', '--store', store])));
    const gauges = (text: string) => linesOf(text).filter((line) => /^bwrite_store_(items|logical_bytes|stored_bytes|inline)/.test(line));
    expect(gauges(pgMetrics!.stdout)).toEqual(gauges(fileMetrics!.stdout));
    expect(gauges(pgMetrics!.stdout).length).toBeGreaterThan(0);

    // The bad line's failures file is on this host, under XDG_STATE_HOME; retry reads it as it reads a local one.
    const failuresFiles = imports.map((run) => (JSON.parse(linesOf(run.stdout).at(-1)!) as { failuresFile: string }).failuresFile);
    expect(failuresFiles[0]!.startsWith(join(where.env.XDG_STATE_HOME!, 'bwrite'))).toBe(true);
    expect(linesOf(await readFile(failuresFiles[0]!, 'utf8'))).toHaveLength(1);
    const retried = await Promise.all(stores.map((store, i) => bwrite(where, ['retry', failuresFiles[i]!, '--key', 'id', '--store', store, '--json'])));
    expect(summaryOf(retried[0]!)).toEqual(summaryOf(retried[1]!));
    expect(summaryOf(retried[0]!)).toMatchObject({ code: 1, read: 1, written: 0, failed: 1 });

    const deletes = await Promise.all(stores.map((store) => bwrite(where, ['delete', 'k0001', 'k0001', 'nope', '--json', '--store', store])));
    expect(deleteSummary(deletes[0]!)).toEqual(deleteSummary(deletes[1]!));
    const prefixDeletes = await Promise.all(stores.map((store) => bwrite(where, ['delete', '--prefix', 'k02', '--json', '--store', store])));
    expect(deleteSummary(prefixDeletes[0]!)).toEqual(deleteSummary(prefixDeletes[1]!));
    expect(deleteSummary(prefixDeletes[0]!)).toMatchObject({ deleted: 100 });
    const after = await Promise.all(stores.map((store) => bwrite(where, ['stats', '--json', '--store', store])));
    expect(comparable(after[0]!.stdout)).toEqual(comparable(after[1]!.stdout));
    const verified = await bwrite(where, ['verify', '--deep', '--store', url]);
    expect(verified.code).toBe(0);
  });

  test('--resume on a PostgreSQL store reads on from what an earlier run committed', async () => {
    const where = await place();
    const { url, schema } = pgStore();
    const input = join(where.dir, 'grows.ndjson');
    await writeText(input, records(100));
    expect((await bwrite(where, ['import', input, '--key', 'id', '--store', url, '--resume'])).code).toBe(0);
    await writeText(input, records(100) + records(40, 100));
    const resumed = await bwrite(where, ['import', input, '--key', 'id', '--store', url, '--resume', '--json']);
    expect(summaryOf(resumed)).toMatchObject({ code: 0, status: 'ok', written: 40 });
    const stats = JSON.parse((await bwrite(where, ['stats', '--json', '--store', url])).stdout) as { items: number };
    expect(stats.items).toBe(140);
    expect(await itemsInPostgres(schema)).toBe(140);
  });

  test('a value over --inline-max stays in PostgreSQL: no blobs directory is made for the store', async () => {
    const where = await place();
    const { url } = pgStore();
    const big = 'y'.repeat(200_000);
    const input = await writeText(join(where.dir, 'big.ndjson'), JSON.stringify({ id: 'big', body: big }) + '\n');
    expect((await bwrite(where, ['import', input, '--key', 'id', '--store', url, '--inline-max', '0'])).code).toBe(0);
    const stats = JSON.parse((await bwrite(where, ['stats', '--json', '--store', url])).stdout) as { blobs: number; inlineItems: number };
    expect(stats).toMatchObject({ blobs: 0, inlineItems: 1 });
    expect(JSON.parse((await bwrite(where, ['get', 'big', '--store', url])).stdout)).toEqual({ id: 'big', body: big });
    expect(await readdir(where.dir)).toEqual(['big.ndjson']);
  });

  test('two importers writing overlapping keys at once leave every key with one of their values and exact totals', async () => {
    const where = await place();
    const { url, schema } = pgStore();
    const first = await writeText(join(where.dir, 'a.ndjson'), records(2000, 0, 'a'));
    const second = await writeText(join(where.dir, 'b.ndjson'), records(2000, 1000, 'b'));
    const runs = [first, second].map((file) => startBwrite(['import', file, '--key', 'id', '--store', url, '--batch-size', '50'], { cwd: where.dir, env: where.env }).result);
    const results = await Promise.all(runs);
    expect(results.map((run) => run.code)).toEqual([0, 0]);
    const exported = linesOf((await bwrite(where, ['export', '--store', url])).stdout).map((line) => JSON.parse(line) as { id: string; tag: string });
    expect(exported).toHaveLength(3000);
    expect(exported.filter((item) => Number(item.id.slice(1)) < 1000).every((item) => item.tag === 'a')).toBe(true);
    expect(exported.filter((item) => Number(item.id.slice(1)) >= 2000).every((item) => item.tag === 'b')).toBe(true);
    const stats = JSON.parse((await bwrite(where, ['stats', '--json', '--store', url])).stdout) as { items: number; runs: { written: number }[] };
    expect(stats.items).toBe(3000);
    expect(await itemsInPostgres(schema)).toBe(3000);
    expect(stats.runs.map((run) => run.written)).toEqual([2000, 2000]);
    expect((await bwrite(where, ['verify', '--deep', '--store', url])).code).toBe(0);
  });

  test('the last committed value of a key wins across runs', async () => {
    const where = await place();
    const { url, schema } = pgStore();
    for (const tag of ['first', 'second', 'third']) {
      const input = await writeText(join(where.dir, `${tag}.ndjson`), records(20, 0, tag));
      expect((await bwrite(where, ['import', input, '--key', 'id', '--store', url])).code).toBe(0);
    }
    expect(JSON.parse((await bwrite(where, ['get', 'k0007', '--store', url])).stdout)).toMatchObject({ tag: 'third' });
    const [row] = await pgQuery<{ inline: Buffer }>(`SELECT inline FROM "${schema}".items WHERE key = 'k0007'`);
    expect(JSON.parse(row!.inline.toString('utf8'))).toMatchObject({ tag: 'third' });
  });

  test('batches mixing new keys, stored keys and keys repeated within them keep each last occurrence, as on a local store', async () => {
    const where = await place();
    const { url, schema } = pgStore();
    const local = join(where.dir, 'local-store');
    const oddKeys = ['a\\b', 'éè', '\u{1f600}x', 'q"uote'];
    const odd = (tag: string) => oddKeys.map((id, i) => JSON.stringify({ id, tag: `${tag}${i}` })).join('\n') + '\n';
    const first = await writeText(join(where.dir, 'first.ndjson'), records(300, 0, 'first') + odd('odd'));
    // Half the keys are stored already, some come twice in one batch, the rest are new; the input's name needs COPY's escapes.
    const secondName = 'second \\ tab\t.ndjson';
    const second = await writeText(join(where.dir, secondName), records(300, 150, 'second') + records(40, 200, 'third') + odd('again'));
    for (const input of [first, second]) {
      const runs = await Promise.all([url, local].map((store) => bwrite(where, ['import', input, '--key', 'id', '--store', store, '--batch-size', '64', '--json'])));
      expect(summaryOf(runs[0]!)).toEqual(summaryOf(runs[1]!));
      expect(runs[0]!.code).toBe(0);
    }
    const [pgExport, localExport] = await Promise.all([url, local].map((store) => bwrite(where, ['export', '--with-keys', '--store', store])));
    expect(pgExport!.stdout).toBe(localExport!.stdout);
    expect(linesOf(pgExport!.stdout)).toHaveLength(454);
    expect(JSON.parse((await bwrite(where, ['get', 'k0210', '--store', url])).stdout)).toMatchObject({ tag: 'third' });
    const [pgStats, localStats] = await Promise.all([url, local].map((store) => bwrite(where, ['stats', '--json', '--store', store])));
    expect(comparable(pgStats!.stdout)).toEqual(comparable(localStats!.stdout));
    // A replaced key keeps when it was first stored, and names the input and line it came from last.
    const rows = await pgQuery<{ key: string; source: string; line: string; kept: boolean }>(
      `SELECT key, source, line, created_at < updated_at AS kept FROM "${schema}".items WHERE key = ANY($1) ORDER BY key`,
      [['k0000', 'k0210', 'a\\b', '\u{1f600}x']],
    );
    expect(rows.map((row) => [row.key, row.source.split('/').at(-1), Number(row.line), row.kept])).toEqual([
      ['a\\b', secondName, 341, true],
      ['k0000', 'first.ndjson', 1, false],
      ['k0210', secondName, 311, true],
      ['\u{1f600}x', secondName, 343, true],
    ]);
    expect((await bwrite(where, ['verify', '--deep', '--store', url])).code).toBe(0);
  });

  test('batches sharing one transaction each see the rows and watermark of those before them, under every --on-conflict, as on a local store', async () => {
    const where = await place();
    const { url } = pgStore();
    const local = join(where.dir, 'local-store');
    const stores = [url, local];
    // Batches of 4: a key comes back a few batches later, within what commits together; a bad line in between.
    const lines = (tag: string) => [...Array(120).keys()].map((i) => (i === 50 ? '{"id": broken' : JSON.stringify({ id: `k${(i * 7) % 45}`, tag: `${tag}${i}` })));
    const input = join(where.dir, 'in.ndjson');
    for (const [mode, tag] of [['replace', 'a'], ['skip', 'b'], ['fail', 'c'], ['replace', 'd']] as const) {
      await writeText(input, lines(tag).join('\n') + '\n');
      const runs = await Promise.all(stores.map((store) => bwrite(where, ['import', input, '--key', 'id', '--store', store, '--batch-size', '4', '--on-conflict', mode, '--resume', '--json'])));
      expect(summaryOf(runs[0]!), mode).toEqual(summaryOf(runs[1]!));
      expect(runs[0]!.code, mode).toBe(1);
      const failures = runs.map((run) => (JSON.parse(linesOf(run.stdout).at(-1)!) as { failuresFile: string }).failuresFile);
      const [pgFailures, localFailures] = await Promise.all(failures.map(async (file) => linesOf(await readFile(file, 'utf8')).map((line) => JSON.parse(line) as Record<string, unknown>)));
      const shown = (entries: Record<string, unknown>[]) => entries.map(({ key, line, code }) => ({ key, line, code }));
      expect(shown(pgFailures!), mode).toEqual(shown(localFailures!));
      // The input grows by its own lines again: --resume reads only what was appended.
      await appendFile(input, lines(`${tag}+`).join('\n') + '\n');
      const resumed = await Promise.all(stores.map((store) => bwrite(where, ['import', input, '--key', 'id', '--store', store, '--batch-size', '4', '--on-conflict', mode, '--resume', '--json'])));
      expect(summaryOf(resumed[0]!), mode).toEqual(summaryOf(resumed[1]!));
      // What was read before is counted as read and skipped; of the 120 appended lines, one is bad.
      expect(summaryOf(resumed[0]!), mode).toMatchObject({ read: 240, failed: mode === 'fail' ? 120 : 1 });
    }
    const [pgExport, localExport] = await Promise.all(stores.map((store) => bwrite(where, ['export', '--with-keys', '--store', store])));
    expect(pgExport!.stdout).toBe(localExport!.stdout);
    expect(linesOf(pgExport!.stdout)).toHaveLength(45);
    const [pgStats, localStats] = await Promise.all(stores.map((store) => bwrite(where, ['stats', '--json', '--store', store])));
    expect(comparable(pgStats!.stdout)).toEqual(comparable(localStats!.stdout));
    expect((await bwrite(where, ['verify', '--deep', '--store', url])).code).toBe(0);
  });

  test("a URL's password appears in no output, summary, failures file, run history or metrics", async () => {
    const where = await place();
    const { url } = pgStore();
    const password = pgPassword();
    // The password comes from the URL alone.
    const env = { ...where.env, PGPASSWORD: undefined } as unknown as Record<string, string>;
    const input = await writeText(join(where.dir, 'in.ndjson'), records(10) + 'not json\n');
    const seen: string[] = [];
    const run = async (args: string[]) => {
      const result = await runBwrite([...args, '--store', url], { cwd: where.dir, env });
      seen.push(result.stdout, result.stderr);
      return result;
    };
    const metricsFile = join(where.dir, 'bwrite.prom');
    const imported = await run(['import', input, '--key', 'id', '--json', '--progress', 'log', '--metrics-file', metricsFile]);
    expect(imported.code).toBe(1);
    await run(['import', input, '--key', 'id', '--progress', 'log']);
    for (const args of [['stats'], ['stats', '--json'], ['stats', '--prometheus'], ['verify', '--deep'], ['gc'], ['get', 'k0001'], ['get', 'nope'], ['delete', 'k0002', '--json']]) await run(args);
    seen.push(await readFile(metricsFile, 'utf8'));
    const stateFiles = await readdir(where.env.XDG_STATE_HOME!, { recursive: true, withFileTypes: true });
    for (const file of stateFiles.filter((entry) => entry.isFile())) seen.push(await readFile(join(file.parentPath, file.name), 'utf8'));
    seen.push(JSON.stringify(await pgQuery(`SELECT * FROM "${new URL(url).searchParams.get('schema')}".runs`)));
    expect(seen.join('\n')).toContain('postgres://bwrite:***@');
    expect(seen.join('\n')).not.toContain(password);
  });

  test('a wrong password ends the command with exit 3 and one line that does not show it', async () => {
    const where = await place();
    const { url } = pgStore();
    const wrong = new URL(url);
    wrong.password = 'not-the-password';
    const input = await writeText(join(where.dir, 'in.ndjson'), records(5));
    for (const args of [['import', input, '--key', 'id'], ['stats']]) {
      const result = await runBwrite([...args, '--store', wrong.toString()], { cwd: where.dir, env: { ...where.env, PGPASSWORD: undefined } });
      expect(result.code).toBe(3);
      expect(linesOf(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(/^bwrite: error: cannot use the store at postgres:\/\/bwrite:\*\*\*@.*: authentication failed/);
      expect(result.stderr).not.toContain('not-the-password');
    }
  });

  test('a read-only command on a PostgreSQL store that does not exist is exit 3, and creates nothing', async () => {
    const where = await place();
    const { url, schema } = pgStore();
    for (const args of [['get', 'k1'], ['export'], ['stats'], ['verify'], ['gc'], ['delete', 'k1']]) {
      const result = await bwrite(where, [...args, '--store', url]);
      expect(result.code, args.join(' ')).toBe(3);
      expect(result.stderr).toBe(`bwrite: error: there is no bwrite store at ${url.replace(/:[^:@/]*@/, ':***@')} (an import creates it); check --store or BWRITE_STORE\n`);
    }
    expect(await pgQuery(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])).toEqual([]);
  });

  test("a crashed run's failures file is completed only on the host that ran it", async () => {
    const where = await place();
    const { url, schema } = pgStore();
    const input = await writeText(join(where.dir, 'in.ndjson'), records(3));
    expect((await bwrite(where, ['import', input, '--key', 'id', '--store', url])).code).toBe(0);
    // A run that crashed after committing a failure entry it never wrote out: first on another host.
    const file = join(where.dir, 'crashed.ndjson');
    const runId = '20260101T000000Z-abcdef';
    const line = JSON.stringify({ entry: `${runId}/1`, code: 'E_PARSE' });
    await pgQuery(
      `INSERT INTO "${schema}".runs (run_id, command, pid, host, started_at, status, sources, lease_expires_at, failures_file) VALUES ($1, 'import', 1, 'another-host', 1, 'running', '[]', 2, $2)`,
      [runId, file],
    );
    await pgQuery(`INSERT INTO "${schema}".failures (run_id, seq, entry) VALUES ($1, 1, $2)`, [runId, line]);
    expect((await bwrite(where, ['gc', '--store', url])).code).toBe(0);
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await pgQuery(`SELECT seq FROM "${schema}".failures`)).toHaveLength(1);

    await pgQuery(`UPDATE "${schema}".runs SET host = $1 WHERE run_id = $2`, [hostname(), runId]);
    expect((await bwrite(where, ['gc', '--store', url])).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(`${line}\n`);
    expect(await pgQuery(`SELECT seq FROM "${schema}".failures`)).toHaveLength(0);
  });

  test("libpq's PG* variables and a password file fill in what the URL leaves out; no password at all is exit 3", async () => {
    const where = await place();
    const { schema } = pgStore();
    const server = new URL(pgUrl!);
    const libpq = { PGHOST: server.hostname, PGPORT: server.port, PGUSER: decodeURIComponent(server.username), PGDATABASE: server.pathname.slice(1), PGPASSWORD: undefined };
    const passFile = join(where.dir, 'pgpass');
    await writeText(passFile, `${libpq.PGHOST}:${libpq.PGPORT}:${libpq.PGDATABASE}:${libpq.PGUSER}:${pgPassword()}\n`);
    await chmod(passFile, 0o600);
    const input = await writeText(join(where.dir, 'in.ndjson'), records(4));
    const bare = `postgresql:///?schema=${schema}`;
    const imported = await runBwrite(['import', input, '--key', 'id', '--store', bare], { cwd: where.dir, env: { ...where.env, ...libpq, PGPASSFILE: passFile } });
    expect({ code: imported.code, stderr: imported.stderr }).toMatchObject({ code: 0 });
    expect(imported.stderr).toMatch(/^bwrite: ok: read 4, written 4/);
    expect(await itemsInPostgres(schema)).toBe(4);

    const refused = await runBwrite(['stats', '--store', bare], { cwd: where.dir, env: { ...where.env, ...libpq, PGPASSFILE: join(where.dir, 'none') } });
    expect(refused.code).toBe(3);
    expect(linesOf(refused.stderr)).toEqual([`bwrite: error: cannot use the store at ${bare}: authentication failed (check the user, PGPASSWORD or ~/.pgpass): no password was found`]);
  });

  test('BWRITE_STORE may name a PostgreSQL store, and the library opens the same URL', async () => {
    const where = await place();
    const { url } = pgStore();
    const input = await writeText(join(where.dir, 'in.ndjson'), records(3));
    expect((await runBwrite(['import', input, '--key', 'id'], { cwd: where.dir, env: { ...where.env, BWRITE_STORE: url } })).code).toBe(0);
    const store = await openStore(url, { readOnly: true });
    try {
      expect(JSON.parse((await store.get('k0002'))!.value.toString('utf8'))).toMatchObject({ id: 'k0002' });
      expect(store.layout.root).not.toContain(pgPassword());
    } finally {
      await store.close();
    }
  });
});
