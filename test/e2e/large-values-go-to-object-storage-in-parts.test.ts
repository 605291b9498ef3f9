import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { runBwrite, tempDir } from '../helpers/cli.js';
import { describeRun } from '../helpers/store.js';
import { bucket, freshPrefix, objectKey, objectKeys, s3 } from '../helpers/s3.js';

// A value over 16 MiB goes to object storage in parts (a multipart upload), and comes back whole.

describe.runIf(Boolean(process.env.BWRITE_TEST_S3_URL))('values over 16 MiB on object storage', () => {
  it('are uploaded in parts, read back byte for byte, verified deep, and stored once when imported twice', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const { url, prefix } = freshPrefix();
    const pad = Buffer.alloc(20 * 1024 * 1024, 'x').toString();
    const record = `{"id":"big","pad":"${pad}"}`;
    const input = join(dir, 'big.ndjson');
    await writeFile(input, `${record}\n`);
    const args = ['import', input, '--store', store, '--blobs', url, '--max-record-size', String(64 * 1024 * 1024), '-q'];
    for (let i = 0; i < 2; i++) {
      const result = await runBwrite(args, { timeoutMs: 120_000 });
      expect(result.code, describeRun(args, result)).toBe(0);
    }

    const digest = createHash('sha256').update(record).digest('hex');
    expect(await objectKeys(prefix)).toEqual([objectKey(prefix, digest)]);
    const head = await s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: objectKey(prefix, digest) }));
    expect(head.ETag, 'a multipart ETag ends in -<parts>').toMatch(/-\d+"?$/);
    expect(head.ContentLength).toBe(Buffer.byteLength(record));

    const got = await runBwrite(['get', 'big', '--store', store], { timeoutMs: 120_000 });
    expect(got.code, got.stderr).toBe(0);
    expect(createHash('sha256').update(got.stdout.replace(/\n$/, '')).digest('hex')).toBe(digest);
    const verify = await runBwrite(['verify', '--deep', '--store', store], { timeoutMs: 120_000 });
    expect(verify.code, verify.stderr).toBe(0);
  }, 300_000);
});
