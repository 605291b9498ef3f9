// The README's S3 permissions are all bwrite needs: a user of its own, whose only rights are a
// bucket policy granting what the README lists (PutObject, GetObject and AbortMultipartUpload on
// PREFIX/*, ListBucket on the bucket for PREFIX/*), imports and reads; gc removes nothing without
// DeleteObject (exit 3, one sentence, nothing lost) and removes the unreferenced objects with it;
// with GetObject and ListBucket alone, a host reads, and its import is refused.
// On scripts/services' radosgw: a bucket and a user made for the test.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { describe, expect, onTestFinished, test } from 'vitest';
import { linesOf, ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { s3, s3Available } from '../helpers/s3.js';

const CEPH_CONF = join(process.env.BWRITE_SERVICES_DIR ?? '/var/tmp/bwrite-services', 'ceph', 'ceph.conf');
const canMakeUsers = s3Available && existsSync(CEPH_CONF);

/** A radosgw user with keys and no rights of its own, removed when the test finishes. */
function radosgwUser(): { uid: string; key: string; secret: string } {
  const uid = `policy-${randomBytes(4).toString('hex')}`;
  const made = JSON.parse(execFileSync('radosgw-admin', ['-c', CEPH_CONF, 'user', 'create', `--uid=${uid}`, `--display-name=${uid}`], { encoding: 'utf8' })) as {
    keys: { access_key: string; secret_key: string }[];
  };
  onTestFinished(() => void execFileSync('radosgw-admin', ['-c', CEPH_CONF, 'user', 'rm', `--uid=${uid}`], { stdio: 'ignore' }));
  return { uid, key: made.keys[0]!.access_key, secret: made.keys[0]!.secret_key };
}

/** A bucket of the test's own (made by the services' user, its owner), emptied and removed afterwards. */
async function ownBucket(): Promise<string> {
  const name = `policy-${randomBytes(4).toString('hex')}`;
  await s3().send(new CreateBucketCommand({ Bucket: name }));
  onTestFinished(async () => {
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: name }));
    const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key! }));
    if (keys.length > 0) await s3().send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }));
    await s3().send(new DeleteBucketCommand({ Bucket: name }));
  });
  return name;
}

/**
 * The README's statements for a user on BUCKET/PREFIX, with DeleteObject for the host that runs
 * gc: on the objects (AWS), and on the bucket, where radosgw 16 checks a DeleteObjects request.
 */
function policy(bucketName: string, prefix: string, uid: string, gc: boolean, reader = false): string {
  const principal = { AWS: [`arn:aws:iam:::user/${uid}`] };
  const objects = `arn:aws:s3:::${bucketName}/${prefix}/*`;
  const bucket = `arn:aws:s3:::${bucketName}`;
  const writes = reader ? [] : ['s3:PutObject', 's3:AbortMultipartUpload'];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: principal, Action: ['s3:GetObject', ...writes], Resource: [objects] },
      { Effect: 'Allow', Principal: principal, Action: ['s3:ListBucket'], Resource: [bucket], Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } } },
      ...(gc ? [{ Effect: 'Allow', Principal: principal, Action: ['s3:DeleteObject'], Resource: [objects, bucket] }] : []),
    ],
  });
}

describe.runIf(canMakeUsers)('the S3 permissions the README lists', () => {
  test('let a user with nothing else import, read and verify; gc needs DeleteObject, and removes nothing without it', async () => {
    const user = radosgwUser();
    const name = await ownBucket();
    const prefix = 'fleet';
    await s3().send(new PutBucketPolicyCommand({ Bucket: name, Policy: policy(name, prefix, user.uid, false) }));
    const dir = await tempDir('bwrite-s3-policy-');
    const env = { AWS_ACCESS_KEY_ID: user.key, AWS_SECRET_ACCESS_KEY: user.secret };
    const store = join(dir, 'store');
    const blobs = `s3://${name}/${prefix}`;
    const bwrite = (args: string[]) => runBwrite([...args, '--store', store], { cwd: dir, env });

    // Values over --inline-max 0 all go to the bucket; the second input replaces half of them.
    const first = await writeText(join(dir, 'first.ndjson'), ndjson(30, (i) => ({ id: `k${i}`, v: 'a'.repeat(100 + i) })));
    const second = await writeText(join(dir, 'second.ndjson'), ndjson(15, (i) => ({ id: `k${i}`, v: 'b'.repeat(100 + i) })));
    for (const input of [first, second]) expect((await bwrite(['import', input, '--key', 'id', '--blobs', blobs, '--inline-max', '0', '-q'])).code).toBe(0);
    expect(JSON.parse((await bwrite(['get', 'k3'])).stdout)).toEqual({ id: 'k3', v: 'b'.repeat(103) });
    expect(linesOf((await bwrite(['export'])).stdout)).toHaveLength(30);
    expect((await bwrite(['verify', '--deep'])).code).toBe(0);

    // gc finds the 15 replaced values unreferenced; without DeleteObject it is refused.
    const refused = await bwrite(['gc']);
    expect({ code: refused.code, lines: linesOf(refused.stderr).length }).toEqual({ code: 3, lines: 1 });
    expect(refused.stderr).not.toContain(user.secret);
    expect((await bwrite(['verify', '--deep'])).code).toBe(0);

    await s3().send(new PutBucketPolicyCommand({ Bucket: name, Policy: policy(name, prefix, user.uid, true) }));
    const collected = await bwrite(['gc', '--json']);
    expect({ code: collected.code, said: collected.stderr }).toEqual({ code: 0, said: '' });
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: name, Prefix: `${prefix}/` }));
    expect(listed.KeyCount).toBe(30);
    expect((await bwrite(['verify', '--deep'])).code).toBe(0);

    // A host that only reads: GetObject and ListBucket.
    await s3().send(new PutBucketPolicyCommand({ Bucket: name, Policy: policy(name, prefix, user.uid, false, true) }));
    for (const args of [['get', 'k20'], ['export'], ['verify', '--deep'], ['stats']]) expect((await bwrite(args)).code, args.join(' ')).toBe(0);
    // Its import needs to put back the values gc removed: refused, exit 3, one line.
    const readerImport = await bwrite(['import', first, '--key', 'id', '--blobs', blobs, '--inline-max', '0', '-q']);
    expect({ code: readerImport.code, lines: linesOf(readerImport.stderr).length }).toEqual({ code: 3, lines: 1 });
  });
});
