import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBwrite, tempDir, writeText, type RunResult } from '../helpers/cli.js';
import { describeRun, sha256 } from '../helpers/store.js';
import { pgPassword, pgQuery, pgStore } from '../helpers/postgres.js';
import { freshPrefix, objectKey, objectKeys } from '../helpers/s3.js';
import { servicesUp } from '../helpers/shared-servers.js';

// `bwrite copy` between a local store and a shared one (index in PostgreSQL, values over
// --inline-max in object storage), both ways, each copy checked as a user would check it.

async function ok(args: string[]): Promise<RunResult> {
  const result = await runBwrite(args);
  expect(result.code, describeRun(args, result)).toBe(0);
  expect(result.stderr, describeRun(args, result)).not.toMatch(/^\s+at /m);
  return result;
}

const value = (i: number) => JSON.stringify({ id: `k${String(i).padStart(3, '0')}`, pad: (i % 4 === 0 ? 'B' : 's').repeat(i % 4 === 0 ? 3000 + i : 20) });

describe.runIf(servicesUp)('copy between a local store and a shared one', () => {
  it('copies a local store into PostgreSQL with its large values on S3 and back, each copy equal to its source and verified deep', async () => {
    const dir = await tempDir();
    const local = join(dir, 'local');
    const back = join(dir, 'back');
    const shared = pgStore().url;
    const { url: blobs, prefix } = freshPrefix();
    const input = await writeText(join(dir, 'in.ndjson'), Array.from({ length: 120 }, (_, i) => `${value(i)}\n`).join(''));
    await ok(['import', input, '--store', local, '--inline-max', '1024', '-q']);

    const there = JSON.parse((await ok(['copy', '--from', local, '--to', shared, '--blobs-to', blobs, '--inline-max', '1024', '--json'])).stdout) as { copied: number; verified: number; mismatched: number };
    expect(there).toMatchObject({ copied: 120, verified: 120, mismatched: 0 });
    const large = Array.from({ length: 120 }, (_, i) => i).filter((i) => i % 4 === 0);
    expect((await objectKeys(prefix)).sort()).toEqual(large.map((i) => objectKey(prefix, sha256(value(i)))).sort());
    const rows = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM "${new URL(shared).searchParams.get('schema')}".items WHERE inline IS NULL`);
    expect(Number(rows[0]!.n)).toBe(large.length);

    await ok(['verify', '--deep', '--store', shared]);
    const copyBack = await ok(['copy', '--from', shared, '--to', back, '--json']);
    expect(JSON.parse(copyBack.stdout)).toMatchObject({ copied: 120, verified: 120, mismatched: 0 });
    expect(copyBack.stdout + copyBack.stderr).not.toContain(pgPassword());
    await ok(['verify', '--deep', '--store', back]);
    expect((await ok(['export', '--store', back])).stdout).toBe((await ok(['export', '--store', local])).stdout);
  });

  it('refuses --blobs-to other than where the destination keeps its values, naming both', async () => {
    const dir = await tempDir();
    const local = join(dir, 'local');
    const shared = pgStore().url;
    const first = freshPrefix().url;
    const other = freshPrefix().url;
    const input = await writeText(join(dir, 'in.ndjson'), `${value(0)}\n`);
    await ok(['import', input, '--store', local, '-q']);
    await ok(['copy', '--from', local, '--to', shared, '--blobs-to', first, '--inline-max', '100', '-q']);
    const args = ['copy', '--from', local, '--to', shared, '--blobs-to', other, '-q'];
    const refused = await runBwrite(args);
    expect(refused.code, describeRun(args, refused)).toBe(2);
    expect(refused.stderr).toContain(first);
    expect(refused.stderr).toContain(other);
  });
});
