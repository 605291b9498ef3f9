import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, runBwrite, sleep, startBwrite, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { waitUntil } from '../helpers/robustness.js';
import { openStore, BatchWriter } from '../../dist/index.js';
import { describeRun, sha256 } from '../helpers/store.js';
import { freshPrefix, getObject, objectKey, objectKeys, putObject, s3Available } from '../helpers/s3.js';

// A value over --inline-max goes to object storage (`--blobs s3://BUCKET/PREFIX`) instead of the
// store's blobs/ directory, against the radosgw scripts/services runs; the index stays local.

const big = (tag: string, size = 2000) => JSON.stringify({ tag, pad: tag.repeat(Math.ceil(size / tag.length)).slice(0, size) });

async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const result = await runBwrite(args, { env });
  expect(result.stderr, describeRun(args, result)).not.toMatch(/^\s+at /m);
  return result;
}

async function ok(args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  const result = await run(args, env);
  expect(result.code, describeRun(args, result)).toBe(0);
  return result.stdout;
}

/** Imports `lines` under keys k1, k2, … (their line numbers) with every value over 100 bytes in object storage. */
async function importLines(store: string, url: string | null, lines: string[], name = 'in.ndjson', env: Record<string, string | undefined> = {}): Promise<string> {
  const file = await writeText(join(store, '..', name), lines.map((line) => `${line}\n`).join(''));
  return ok(['import', '--store', store, ...(url ? ['--blobs', url] : []), '--inline-max', '100', '--key', 'k{$line}', '-q', file], env);
}

async function gcJson(store: string): Promise<{ removedBlobs: number; sparedBlobs: number }> {
  return JSON.parse(await ok(['gc', '--store', store, '--json'])) as { removedBlobs: number; sparedBlobs: number };
}

describe.runIf(s3Available)('values over --inline-max on S3-compatible storage', () => {
  it('puts each distinct value once under PREFIX/ab/<sha256>, and get, export, verify --deep and stats read them without --blobs', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { url, prefix } = freshPrefix();
    const [a, b, small] = [big('a'), big('b'), '{"small":1}'];
    await importLines(store, url, [a, b, a, small]);

    expect((await objectKeys(prefix)).sort()).toEqual([objectKey(prefix, sha256(a)), objectKey(prefix, sha256(b))].sort());
    expect(await readdir(join(store, 'blobs')), 'nothing in the local blobs/ directory').toEqual([]);
    expect((await getObject(objectKey(prefix, sha256(b)))).toString()).toBe(b);

    expect(await ok(['get', 'k3', '--store', store])).toBe(`${a}\n`);
    expect(linesOf(await ok(['export', '--store', store]))).toEqual([a, b, a, small]);
    expect(linesOf(await ok(['verify', '--deep', '--store', store]))).toEqual(['ok: 4 items checked (deep), 2 blob files, 0 unreferenced (0 B), 0 temporary files']);
    const stats = JSON.parse(await ok(['stats', '--json', '--recount', '--store', store])) as Record<string, unknown>;
    expect(stats).toMatchObject({ items: 4, blobs: 2, inlineValues: 1 });
  });

  it('gc removes objects no item refers to and spares one written after an import still running began', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { url, prefix } = freshPrefix();
    const [gone, kept, fresh] = [big('gone'), big('kept'), big('fresh')];
    await importLines(store, url, [gone, kept]);
    await ok(['delete', 'k1', '--store', store, '-q']);
    // Object times are the server's, to the second or so: the running import begins well after.
    await sleep(1500);
    const feed = startBwrite(['import', '--store', store, '--blobs', url, '--inline-max', '100', '--key', 'k{$line}', '--source-name', 'feed', '-q', '-'], {
      keepStdinOpen: true,
      env: { BWRITE_LEASE_MS: '600000' },
    });
    try {
      feed.child.stdin!.write(`${big('live')}\n`);
      await waitUntil(async () => (await runBwrite(['get', 'k1', '--store', store])).code === 0, 'the import to commit its first record');
      // What the running import may be about to refer to: written after it began, referred to by nothing yet.
      await putObject(objectKey(prefix, sha256(fresh)), fresh);
      expect(await gcJson(store)).toMatchObject({ removedBlobs: 1, sparedBlobs: 1 });
    } finally {
      feed.child.stdin!.end();
    }
    expect((await feed.result).code).toBe(0);
    const left = await objectKeys(prefix);
    expect(left).not.toContain(objectKey(prefix, sha256(gone)));
    expect(left).toEqual(expect.arrayContaining([objectKey(prefix, sha256(kept)), objectKey(prefix, sha256(fresh)), objectKey(prefix, sha256(big('live')))]));
    expect((await run(['verify', '--store', store])).code).toBe(0);
  });

  it('an import whose value gc removes between its blob and its row writes the blob again before the row commits', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { url, prefix } = freshPrefix();
    const value = big('shared');
    await importLines(store, url, [value], 'old.ndjson');
    await ok(['delete', 'k1', '--store', store, '-q']);
    await sleep(1500);
    // The import finds the object there (a 412), so it writes nothing; it then waits before committing.
    const go = join(dir, 'go');
    const input = await writeText(join(dir, 'new.ndjson'), `${value}\n`);
    const importing = startBwrite(['import', '--store', store, '--blobs', url, '--inline-max', '100', '--key', 'new{$line}', '-q', input], { env: { BWRITE_FAULTS_PAUSE: go } });
    await waitUntil(() => existsSync(`${go}.waiting`), 'the import to have written its blob');
    expect(await gcJson(store), 'gc removes the object, which no row refers to yet').toMatchObject({ removedBlobs: 1 });
    expect(await objectKeys(prefix)).toEqual([]);
    await writeFile(go, '');
    const result = await importing.result;
    expect(result.code, result.stderr).toBe(0);

    expect(await objectKeys(prefix)).toEqual([objectKey(prefix, sha256(value))]);
    expect(linesOf(await ok(['verify', '--deep', '--store', store]))).toEqual(['ok: 1 item checked (deep), 1 blob file, 0 unreferenced (0 B), 0 temporary files']);
    expect(await ok(['get', 'new1', '--store', store])).toBe(`${value}\n`);
  });

  it('a store remembers where its values are: leaving out --blobs to write, another URL, or --blobs on a store with local blobs is exit 2 naming both places', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { url } = freshPrefix();
    const other = `${url}-other`;
    await importLines(store, url, [big('x')]);
    const input = await writeText(join(dir, 'more.ndjson'), `${big('y')}\n`);

    const cases: { args: string[]; names: string[] }[] = [
      { args: ['import', '--store', store, '--inline-max', '100', '--key', 'k{$line}', input], names: [store, url] },
      { args: ['import', '--store', store, '--blobs', other, '--inline-max', '100', '--key', 'k{$line}', input], names: [store, url, other] },
      { args: ['get', 'k1', '--store', store, '--blobs', other], names: [store, url, other] },
      { args: ['verify', '--store', store, '--blobs', other], names: [store, url, other] },
    ];
    const local = join(dir, 'local');
    await ok(['import', '--store', local, '--inline-max', '0', '--key', 'k{$line}', '-q', input]);
    cases.push({ args: ['import', '--store', local, '--blobs', url, '--key', 'k{$line}', input], names: [join(local, 'blobs'), url] });
    cases.push({ args: ['export', '--store', local, '--blobs', url], names: [join(local, 'blobs'), url] });

    for (const { args, names } of cases) {
      const result = await run(args);
      expect(result.code, describeRun(args, result)).toBe(2);
      const lines = linesOf(result.stderr);
      expect(lines, describeRun(args, result)).toHaveLength(1);
      for (const name of names) expect(lines[0], describeRun(args, result)).toContain(name);
    }
    // Nothing was written by the refused runs; BWRITE_BLOBS is as good as --blobs.
    expect(await ok(['get', 'k1', '--store', store])).toBe(`${big('x')}\n`);
    expect(await ok(['export', '--store', local])).toBe(`${big('y')}\n`);
    await ok(['import', '--store', store, '--inline-max', '100', '--key', 'env{$line}', '-q', input], { BWRITE_BLOBS: url });
    expect(await ok(['get', 'env1', '--store', store])).toBe(`${big('y')}\n`);
  });

  it('a wrong secret ends the import with exit 3 and one sentence, and no key id or secret appears in any output, file or history', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { url } = freshPrefix();
    await importLines(store, url, [big('before')]);
    const secret = `wrong-${'s3cr3t'.repeat(6)}`;
    const keyId = process.env.AWS_ACCESS_KEY_ID!;
    const input = await writeText(join(dir, 'more.ndjson'), `${big('after')}\n${big('later')}\n`);
    const metrics = join(dir, 'metrics.prom');
    const args = ['import', '--store', store, '--blobs', url, '--inline-max', '100', '--key', 'more{$line}', '--json', '--metrics-file', metrics, input];
    const result = await run(args, { AWS_SECRET_ACCESS_KEY: secret });
    expect(result.code, describeRun(args, result)).toBe(3);
    const errors = linesOf(result.stderr).filter((line) => line.startsWith('bwrite: error:'));
    expect(errors, result.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/refused .*403 SignatureDoesNotMatch.*AWS_SECRET_ACCESS_KEY/);

    const get = await run(['get', 'k1', '--store', store], { AWS_SECRET_ACCESS_KEY: secret });
    expect(get.code, describeRun(['get'], get)).toBe(3);
    expect(linesOf(get.stderr)).toHaveLength(1);

    const seen = [result.stdout, result.stderr, get.stdout, get.stderr, await readFile(metrics, 'utf8')];
    for (const args of [['stats', '--json'], ['stats', '--prometheus'], ['stats']]) seen.push(await ok([...args, '--store', store]));
    for (const name of await readdir(join(store, 'failures'))) seen.push(await readFile(join(store, 'failures', name), 'utf8'));
    for (const text of seen) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(keyId);
      expect(text).not.toContain(process.env.AWS_SECRET_ACCESS_KEY!);
    }
  });

  it('no credentials or no region anywhere in the chain ends the import with exit 3 and a sentence saying what to set', async () => {
    const dir = await tempDir();
    const { url } = freshPrefix();
    const input = await writeText(join(dir, 'in.ndjson'), `${big('a')}\n`);
    const nowhere = { HOME: join(dir, 'home'), AWS_PROFILE: undefined, AWS_CONFIG_FILE: undefined, AWS_SHARED_CREDENTIALS_FILE: undefined };
    for (const [unset, says] of [
      [{ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }, 'no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE'],
      [{ AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined }, 'no region: set AWS_REGION, or AWS_PROFILE'],
    ] as const) {
      const args = ['import', '--store', join(dir, `store-${says.slice(3, 9)}`), '--blobs', url, '--inline-max', '100', '--key', 'k{$line}', '-q', input];
      const result = await run(args, { ...nowhere, ...unset });
      expect(result.code, describeRun(args, result)).toBe(3);
      expect(linesOf(result.stderr), describeRun(args, result)).toEqual([expect.stringContaining(says)]);
    }
  });

  it('an object overwritten with other bytes is reported by verify --deep, and get refuses it with exit 3', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { url, prefix } = freshPrefix();
    const [a, b] = [big('a'), big('b')];
    await importLines(store, url, [a, b]);
    // Same length, other bytes: only the hash tells.
    await putObject(objectKey(prefix, sha256(b)), b.replace(/b/g, 'c'));

    expect((await run(['verify', '--store', store])).code, 'sizes still agree').toBe(0);
    const deep = await run(['verify', '--deep', '--store', store]);
    expect(deep.code).toBe(1);
    expect(linesOf(deep.stdout)).toEqual([`problem: blob ${sha256(b)} does not hash to its name`, '1 problem: 2 items checked (deep), 2 blob files, 0 unreferenced (0 B), 0 temporary files']);
    const get = await run(['get', 'k2', '--store', store]);
    expect(get.code).toBe(3);
    expect(get.stderr).toContain(`the value of key 'k2' cannot be read`);
    expect(get.stdout).toBe('');
  });

  it('object storage that refuses connections ends the import with exit 3, keeping what it committed, and --resume completes it once it answers', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { url, prefix } = freshPrefix();
    const lines = Array.from({ length: 12 }, (_, i) => big(`v${i}`));
    await importLines(store, url, lines.slice(0, 6), 'in.ndjson');
    const input = await writeText(join(dir, 'in.ndjson'), lines.map((line) => `${line}\n`).join(''));
    const args = ['import', '--store', store, '--blobs', url, '--inline-max', '100', '--key', 'k{$line}', '--resume', '--retries', '2', '--retry-delay', '10', '-q', input];

    const refused = await run(args, { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    expect(refused.code, describeRun(args, refused)).toBe(3);
    expect(linesOf(refused.stderr), describeRun(args, refused)).toEqual([expect.stringMatching(/^bwrite: error: the store failed: object storage did not answer writing s3:\/\/.* \(ECONNREFUSED\); what was committed stays/)]);
    expect(await ok(['get', 'k6', '--store', store])).toBe(`${lines[5]}\n`);

    await ok(args);
    expect(linesOf(await ok(['export', '--store', store])).sort()).toEqual([...lines].sort());
    expect(await objectKeys(prefix)).toHaveLength(12);
    expect((await run(['verify', '--deep', '--store', store])).code).toBe(0);
  });

  it("the library's openStore takes blobs: a writer's values go to object storage and bin/bwrite reads them back", async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const { url, prefix } = freshPrefix();
    const value = big('library');
    const store = await openStore(storeDir, { blobs: url });
    try {
      const writer = new BatchWriter(store, { maxConcurrent: 4, inlineMax: 100 });
      await writer.writeOne('lib', value);
      expect((await store.get('lib'))?.value.toString()).toBe(value);
    } finally {
      await store.close();
    }
    expect(await objectKeys(prefix)).toEqual([objectKey(prefix, sha256(value))]);
    expect(await ok(['get', 'lib', '--store', storeDir])).toBe(`${value}\n`);
    await expect(openStore(storeDir)).rejects.toThrow(`keeps its values in ${url}, and no --blobs was given`);
  });
});
