import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeadBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linesOf, repoRoot, runBwrite, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/robustness.js';
import { describeRun } from '../helpers/store.js';
import { s3Available } from '../helpers/s3.js';

// A radosgw of this test's own (scripts/services with its own DIR and ports), killed with SIGKILL
// in the middle of an import and started again: never the shared one.

const execFileAsync = promisify(execFile);
const dir = `/var/tmp/bwrite-s3-kill-${process.pid}`;
const ports = { BWRITE_PG_PORT: String(freePort()), BWRITE_MON_PORT: String(freePort()), BWRITE_RGW_PORT: String(freePort()) };
const canRun = s3Available && process.getuid?.() === 0 && existsSync('/usr/bin/radosgw');
let env: Record<string, string> = {};

async function services(command: 'up' | 'down'): Promise<void> {
  await execFileAsync(join(repoRoot, 'scripts', 'services'), [command, dir], { env: { ...process.env, ...ports }, timeout: 240_000 });
}

function rgwPid(): Promise<number> {
  return readFile(join(dir, 'ceph', 'run', 'client.rgw.pid'), 'utf8').then((text) => Number(text.trim()));
}

async function answering(): Promise<boolean> {
  const client = new S3Client({ forcePathStyle: true, endpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! }, maxAttempts: 1 });
  try {
    await client.send(new HeadBucketCommand({ Bucket: env.BWRITE_TEST_BUCKET }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

async function objectCount(prefix: string): Promise<number> {
  const client = new S3Client({ forcePathStyle: true, endpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! } });
  let count = 0;
  let ContinuationToken: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: env.BWRITE_TEST_BUCKET, Prefix: `${prefix}/`, ContinuationToken }));
    count += page.KeyCount ?? 0;
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  client.destroy();
  return count;
}

describe.runIf(canRun)('object storage killed in the middle of an import', () => {
  beforeAll(async () => {
    await services('up');
    const text = await readFile(join(dir, 'env'), 'utf8');
    env = Object.fromEntries(linesOf(text).filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  }, 300_000);

  afterAll(async () => {
    await services('down').catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('ends the import with exit 3 keeping its committed batches, and after a restart --resume stores every record once', async () => {
    const work = await tempDir();
    const store = join(work, 'store');
    const url = `s3://${env.BWRITE_TEST_BUCKET}/killed`;
    const records = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: `k${String(i).padStart(4, '0')}`, pad: `${i}:`.padEnd(8000, 'x') }));
    const input = await writeText(join(work, 'in.ndjson'), records.map((line) => `${line}\n`).join(''));
    const args = ['import', '--store', store, '--blobs', url, '--inline-max', '100', '--batch-size', '20', '--concurrency', '4', '--retries', '2', '--retry-delay', '50', '--resume', '-q', input];
    const clientEnv = { ...env, BWRITE_TEST_S3_URL: undefined };

    const importing = startBwrite(args, { env: clientEnv, timeoutMs: 120_000 });
    await waitUntil(async () => (await runBwrite(['get', 'k0100', '--store', store], { env: clientEnv })).code === 0, 'the import to commit a few batches', 60_000, 50);
    process.kill(await rgwPid(), 'SIGKILL');
    const killed = await importing.result;
    expect(killed.code, describeRun(args, killed)).toBe(3);
    expect(linesOf(killed.stderr), killed.stderr).toEqual([expect.stringMatching(/^bwrite: error: the store failed: object storage did not answer .*; what was committed stays/)]);
    const kept = (JSON.parse((await runBwrite(['stats', '--json', '--store', store], { env: clientEnv })).stdout) as { items: number }).items;
    expect(kept).toBeGreaterThanOrEqual(101);
    expect(kept).toBeLessThan(2000);

    await execFileAsync('radosgw', ['-c', join(dir, 'ceph', 'ceph.conf'), '-n', 'client.rgw']);
    await waitUntil(answering, 'radosgw to answer again', 60_000, 250);
    const resumed = await runBwrite(args, { env: clientEnv, timeoutMs: 120_000 });
    expect(resumed.code, describeRun(args, resumed)).toBe(0);

    const exported = await runBwrite(['export', '--store', store], { env: clientEnv, timeoutMs: 120_000 });
    expect(exported.code, describeRun(['export'], exported)).toBe(0);
    expect(linesOf(exported.stdout)).toEqual(records);
    // export checked each value against its SHA-256 as it read it; verify adds that no object is left over.
    const verify = await runBwrite(['verify', '--store', store], { env: clientEnv, timeoutMs: 120_000 });
    expect(linesOf(verify.stdout)).toEqual(['ok: 2,000 items checked, 2,000 blob files, 0 unreferenced (0 B), 0 temporary files']);
    expect(await objectCount('killed')).toBe(2000);
  }, 300_000);
});
