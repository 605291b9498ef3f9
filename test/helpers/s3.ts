// The object storage a shared store's values go to (radosgw from scripts/services), seen directly.
import { randomBytes } from 'node:crypto';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { onTestFinished } from 'vitest';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Set where the test servers run (CI always; by hand after `scripts/services up`). */
export const s3Available = Boolean(process.env.BWRITE_TEST_S3_URL && process.env.BWRITE_TEST_BUCKET);

let client: S3Client | null = null;

export function s3(): S3Client {
  client ??= new S3Client({ forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  return client;
}

export function bucket(): string {
  return process.env.BWRITE_TEST_BUCKET!;
}

/** A prefix of the test bucket no other test uses, emptied when the test finishes: `s3://BUCKET/t-<random>`. */
export function freshPrefix(): { url: string; prefix: string } {
  const prefix = `t-${randomBytes(6).toString('hex')}`;
  onTestFinished(() => removeAll(prefix));
  return { url: `s3://${bucket()}/${prefix}`, prefix };
}

/** Every object name under `prefix/`, in listing order. */
export async function objectKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: `${prefix}/`, ContinuationToken }));
    for (const object of page.Contents ?? []) keys.push(object.Key!);
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys;
}

/** The object where a value with this digest belongs. */
export function objectKey(prefix: string, digest: string): string {
  return `${prefix}/${digest.slice(0, 2)}/${digest}`;
}

export async function putObject(key: string, body: string | Buffer): Promise<void> {
  await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: body }));
}

export async function getObject(key: string): Promise<Buffer> {
  const answer = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

async function removeAll(prefix: string): Promise<void> {
  const keys = await objectKeys(prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    await s3().send(new DeleteObjectsCommand({ Bucket: bucket(), Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
  }
}
