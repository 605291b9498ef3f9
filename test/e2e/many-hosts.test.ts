// Issue 17, item 3: many hosts, one store. Four importers, each a host of its own (its own network
// namespace and hostname where the machine allows it: test/helpers/hosts.ts), import overlapping
// keys in several runs while gc and stats run in a loop on two more hosts. Afterwards every key
// holds a value that its last committing run wrote, verify --deep is clean, the counts are exact
// and nothing was lost. On PostgreSQL + S3 when the servers are up; on a local store always (the
// same harness, the guarantees a local store already gives).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { openHosts, type Hosts } from '../helpers/hosts.js';
import { serviceEnv, servicesUp, sharedStore, type SharedStore } from '../helpers/shared-servers.js';
import { describeRun, parseSummary, type Summary } from '../helpers/store.js';

const IMPORTERS = 4;
const GC_HOST = IMPORTERS + 1;
const STATS_HOST = IMPORTERS + 2;
const RUNS_PER_IMPORTER = 4;
const KEYS = 150;
const RECORDS_PER_RUN = 300;
// Small values stay in the index; big ones (over --inline-max) go to the blob store. Big ones
// come from a few payloads per key, so hosts write the same bytes (the same blob) for a key, and
// a blob that one run stops referring to may be wanted again by another while gc runs.
const INLINE_MAX = 1024;
const BIG_PAYLOADS = 3;
const BIG_PAD = 2500;
const LOOP_LIMIT = 400;

/** One run of one importer: what it was given, when the test started it and saw it exit. */
interface ImportRun {
  host: number;
  run: number;
  file: string;
  failures: string;
  /** key → the tag of its last occurrence in this run's input (the one that wins within the run). */
  last: Map<string, string>;
  startedAt: number;
  endedAt: number;
  summary: Summary | null;
  result: RunResult | null;
}

interface Fleet {
  runs: ImportRun[];
  gc: RunResult[];
  stats: RunResult[];
}

/** A deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const keyName = (i: number) => `k${String(i).padStart(3, '0')}`;

/** The records of one run: overlapping keys (repeated within the run too), each tagged. */
function runInput(host: number, run: number): { text: string; last: Map<string, string> } {
  const next = random(host * 1000 + run);
  const last = new Map<string, string>();
  const text = ndjson(RECORDS_PER_RUN, (seq) => {
    const id = keyName(Math.floor(next() * KEYS));
    if (next() < 0.35) {
      // The same bytes whoever writes them: the tag names the payload, not the writer.
      const p = Math.floor(next() * BIG_PAYLOADS);
      const tag = `big${p}`;
      last.set(id, tag);
      return { id, tag, pad: String(p).repeat(BIG_PAD) };
    }
    const tag = `h${host}r${run}s${seq}`;
    last.set(id, tag);
    return { id, tag };
  });
  return { text, last };
}

/**
 * For each key, the tags the store may hold: a tag that a run left as the key's last value, unless
 * a run that started after that run had exited left another tag for the key (it committed later).
 */
function allowedTags(runs: ImportRun[]): Map<string, Set<string>> {
  const allowed = new Map<string, Set<string>>();
  const keys = new Set(runs.flatMap((r) => [...r.last.keys()]));
  for (const key of keys) {
    const writers = runs.filter((r) => r.last.has(key));
    const tags = new Set<string>();
    for (const candidate of writers) {
      const tag = candidate.last.get(key)!;
      const overtaken = writers.some((later) => later.startedAt > candidate.endedAt && later.last.get(key) !== tag);
      if (!overtaken) tags.add(tag);
    }
    allowed.set(key, tags);
  }
  return allowed;
}

/**
 * Every importer's runs one after another, the importers at once, while gc and stats --json run in
 * a loop on their own hosts until the last import has exited. Every command runs in `dir`, so
 * nothing one makes by mistake lands in the checkout.
 */
async function runFleet(hosts: Hosts, dir: string, store: (host: number) => string[]): Promise<Fleet> {
  const runs: ImportRun[] = [];
  for (let host = 1; host <= IMPORTERS; host++) {
    for (let run = 1; run <= RUNS_PER_IMPORTER; run++) {
      const { text, last } = runInput(host, run);
      const file = await writeText(join(dir, `host-${host}`, `run-${run}.ndjson`), text);
      runs.push({ host, run, file, failures: join(dir, `host-${host}`, `run-${run}.failures.ndjson`), last, startedAt: 0, endedAt: 0, summary: null, result: null });
    }
  }
  let importing = true;
  // gc and stats on a store that no import has made yet would rightly say there is none.
  let firstExit = () => {};
  const storeMade = new Promise<void>((resolve) => (firstExit = resolve));
  const loop = async (host: number, args: string[]): Promise<RunResult[]> => {
    const results: RunResult[] = [];
    await storeMade;
    while (importing && results.length < LOOP_LIMIT) results.push(await hosts.runBwrite(host, [...args, ...store(host)], { cwd: dir, timeoutMs: 60_000 }));
    return results;
  };
  const gc = loop(GC_HOST, ['gc', '--json']);
  const stats = loop(STATS_HOST, ['stats', '--json']);
  const importer = async (host: number): Promise<void> => {
    for (const r of runs.filter((entry) => entry.host === host)) {
      const args = ['import', r.file, ...store(host), '--json', '--inline-max', String(INLINE_MAX), '--batch-size', '25', '--concurrency', '4', '--failures', r.failures];
      r.startedAt = Date.now();
      r.result = await hosts.runBwrite(host, args, { cwd: dir, timeoutMs: 120_000 });
      r.endedAt = Date.now();
      firstExit();
      r.summary = r.result.code === 0 ? parseSummary(args, r.result) : null;
    }
  };
  try {
    await Promise.all(Array.from({ length: IMPORTERS }, (_, i) => importer(i + 1)));
  } finally {
    importing = false;
    firstExit();
  }
  return { runs, gc: await gc, stats: await stats };
}

/** What the test expects of the store after the fleet ran: the checks item 3 names. */
async function expectOneConsistentStore(hosts: Hosts, fleet: Fleet, dir: string, store: (host: number) => string[]): Promise<void> {
  for (const r of fleet.runs) {
    const what = `host ${r.host} run ${r.run}: ${r.result ? describeRun(['import', r.file], r.result) : 'did not run'}`;
    expect(r.result?.code, what).toBe(0);
    expect(r.summary?.status, what).toBe('ok');
    expect(r.summary?.read, what).toBe(RECORDS_PER_RUN);
    expect(r.summary?.failed, what).toBe(0);
    expect((r.summary?.written ?? 0) + (r.summary?.skipped ?? 0), what).toBe(RECORDS_PER_RUN);
    // Nothing lost: no failures file, or an empty one.
    const failures = await readFile(r.failures, 'utf8').catch(() => '');
    expect(failures, what).toBe('');
  }
  for (const run of [...fleet.gc, ...fleet.stats]) expect(run.code, describeRun(['gc/stats'], run)).toBe(0);
  for (const run of fleet.stats) expect(() => JSON.parse(run.stdout), run.stdout).not.toThrow();
  // They ran beside the imports, not only before or after them.
  expect(fleet.gc.length).toBeGreaterThan(1);
  expect(fleet.stats.length).toBeGreaterThan(1);

  // Read back from one host, as a reader elsewhere would.
  const exported = await hosts.runBwrite(1, ['export', '--with-keys', ...store(1)], { cwd: dir });
  expect(exported.code, describeRun(['export'], exported)).toBe(0);
  const stored = new Map<string, { tag: string; bytes: number }>();
  for (const line of exported.stdout.split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { key: string; value: { id: string; tag: string } };
    expect(entry.value.id).toBe(entry.key);
    stored.set(entry.key, { tag: entry.value.tag, bytes: Buffer.byteLength(JSON.stringify(entry.value)) });
  }
  const allowed = allowedTags(fleet.runs);
  expect([...stored.keys()].sort()).toEqual([...allowed.keys()].sort());
  const wrong = [...allowed].filter(([key, tags]) => !tags.has(stored.get(key)?.tag ?? '')).map(([key, tags]) => `${key}: ${stored.get(key)?.tag} not in ${[...tags].join(', ')}`);
  expect(wrong).toEqual([]);

  const verify = await hosts.runBwrite(2, ['verify', '--deep', '--json', ...store(2)], { cwd: dir });
  expect(verify.code, describeRun(['verify', '--deep'], verify)).toBe(0);

  const statsRun = await hosts.runBwrite(3, ['stats', '--json', ...store(3)], { cwd: dir });
  expect(statsRun.code, describeRun(['stats'], statsRun)).toBe(0);
  const stats = JSON.parse(statsRun.stdout) as { items: number; bytes: number; runs: { runId: string; status: string; read: number; written: number; failed: number }[] };
  expect(stats.items).toBe(allowed.size);
  expect(stats.bytes).toBe([...stored.values()].reduce((sum, v) => sum + v.bytes, 0));
  // Every import run the history still lists is recorded as the importer saw it end.
  const byId = new Map(stats.runs.map((run) => [run.runId, run]));
  const listed = fleet.runs.filter((r) => byId.has(r.summary!.runId));
  expect(listed.length).toBeGreaterThan(0);
  for (const r of listed) {
    const recorded = byId.get(r.summary!.runId)!;
    expect({ status: recorded.status, read: recorded.read, written: recorded.written, failed: recorded.failed }).toEqual({
      status: 'ok',
      read: r.summary!.read,
      written: r.summary!.written,
      failed: 0,
    });
  }
}

describe('hosts for the many-hosts tests', () => {
  let hosts: Hosts;
  beforeAll(async () => {
    hosts = await openHosts(3);
    console.info(`hosts: ${hosts.mode}${hosts.why ? ` (${hosts.why})` : ''}`);
  });
  afterAll(() => hosts?.close());

  it('each host runs with its own hostname, and in its own network namespace where the machine allows it', async () => {
    const own = (await readFile('/proc/self/ns/net', 'utf8').catch(() => '')) || null;
    const seen = [];
    for (let host = 1; host <= hosts.count; host++) {
      const result = await hosts.runCommand(host, '/bin/sh', ['-c', 'hostname; readlink /proc/self/ns/net']);
      expect(result.code, result.stderr).toBe(0);
      const [name, netns] = result.stdout.trim().split('\n');
      seen.push(netns);
      if (hosts.mode === 'netns') expect(name).toBe(hosts.hostname(host));
    }
    if (hosts.mode === 'netns') {
      expect(new Set(seen).size).toBe(hosts.count);
      expect(seen).not.toContain(own);
    } else {
      expect(hosts.why).not.toBe('');
    }
  });
});

describe('many hosts, one local store', () => {
  let hosts: Hosts;
  beforeAll(async () => {
    hosts = await openHosts(STATS_HOST);
  });
  afterAll(() => hosts?.close());

  it(
    'four importers on their own hosts, with gc and stats running, leave every key with its last committed value and a clean store',
    async () => {
      const dir = await tempDir();
      const store = ['--store', join(dir, 'store')];
      const fleet = await runFleet(hosts, dir, () => store);
      await expectOneConsistentStore(hosts, fleet, dir, () => store);
    },
    240_000,
  );
});

describe.runIf(servicesUp)('many hosts, one PostgreSQL + S3 store', () => {
  let hosts: Hosts;
  let shared: SharedStore;
  beforeAll(async () => {
    hosts = await openHosts(STATS_HOST, { services: serviceEnv() });
    console.info(`hosts: ${hosts.mode}${hosts.why ? ` (${hosts.why})` : ''}`);
    shared = sharedStore();
  });
  afterAll(async () => {
    await hosts?.close();
    await shared?.drop();
  });

  it('each host reaches PostgreSQL and S3 at the address of its own link', async () => {
    for (let host = 1; host <= hosts.count; host++) {
      const env = hosts.env(host);
      if (hosts.mode === 'netns') expect([env.BWRITE_TEST_PG_URL, env.AWS_ENDPOINT_URL, env.PGHOST].join(' ')).not.toContain('127.0.0.1');
      // pg.Client() with no settings reads libpq's PG* variables, as bwrite does.
      const pgQuery = "const pg = require('pg'); const c = new pg.Client(); c.connect().then(() => c.query('select 1 as one')).then((r) => { console.log(r.rows[0].one); return c.end(); })";
      const sql = await hosts.runCommand(host, process.execPath, ['-e', pgQuery]);
      expect(sql.code, sql.stderr).toBe(0);
      expect(sql.stdout.trim()).toBe('1');
      const s3 = await hosts.runCommand(host, process.execPath, ['scripts/s3-smoke.mjs', 'ping']);
      expect(s3.code, s3.stderr).toBe(0);
    }
  });

  it(
    'four importers on their own hosts, with gc and stats running, leave every key with its last committed value, objects and rows consistent',
    async () => {
      const dir = await tempDir();
      // Each host reaches the servers at its own address: its view of the URL, the same schema.
      const store = (host: number) => ['--store', shared.storeUrl(hosts.env(host).BWRITE_TEST_PG_URL), '--blobs', shared.blobsUrl];
      const fleet = await runFleet(hosts, dir, store);
      await expectOneConsistentStore(hosts, fleet, dir, store);
    },
    300_000,
  );
});
