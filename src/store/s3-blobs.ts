import { createHash } from 'node:crypto';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BwriteError } from '../errors.js';
import { BATCH_MAX_BYTES, WithoutLocalFiles, type BlobBackend, type BlobStat, type ListedBlob } from './backend.js';
import { isDigest } from './layout.js';
import type { S3Location } from './s3-location.js';
import type { StrayEntry } from './scan.js';

/** Values larger than this go up in parts (each with its own SHA-256), so a failed part is all that is sent again. */
export const MULTIPART_MIN = 16 * 1024 * 1024;
const PART_SIZE = 8 * 1024 * 1024;
const RECENT_LIMIT = 65_536;
// Long enough for a part of PART_SIZE on a slow link; an idle socket past it is a transient error.
const REQUEST_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** What one object's SDK error means to bwrite; the SDK's own text is never shown (it may quote a key id). */
interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Content-addressed values in an S3 bucket, `PREFIX/ab/<sha256>` (rules 1 and 2 in store.ts).
 * A value is sent with its SHA-256 for the server to check and `If-None-Match: *`, so an object
 * is never overwritten: a 412 says the same bytes are there. Endpoint, region and credentials come
 * from the AWS SDK's standard chain; with an endpoint given (a server other than AWS), addressing
 * is path-style. The SDK tries each request once: bwrite's backoff is the one that retries.
 */
export class S3Blobs extends WithoutLocalFiles implements BlobBackend {
  readonly location: string;
  readonly removesUnderLock = true;
  /**
   * Half the local store's: object storage takes values more slowly, so more batches wait on it
   * at once, each holding its values; with 16 MiB batches an import of 64 KB values with the
   * index in PostgreSQL peaked at the memory bar (bench/RESULTS.md).
   */
  readonly batchMaxBytes = BATCH_MAX_BYTES / 2;
  private readonly where: S3Location;
  private readonly client: S3Client;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Digests this process wrote or found there lately, with when (ms, taken before the request). */
  private recent = new Map<string, number>();

  constructor(where: S3Location) {
    super();
    this.where = where;
    this.location = where.url;
    const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL;
    this.client = new S3Client({
      forcePathStyle: Boolean(endpoint),
      maxAttempts: 1,
      // Checksums only where bwrite gives them (SHA-256) or the operation requires one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    });
  }

  /** The object's name; only ever from a validated digest (rule 2). */
  keyOf(digest: string): string {
    if (!isDigest(digest)) throw new BwriteError('E_INTERNAL', `not a SHA-256 digest: '${String(digest).slice(0, 80)}'`);
    const name = `${digest.slice(0, 2)}/${digest}`;
    return this.where.prefix ? `${this.where.prefix}/${name}` : name;
  }

  /**
   * Puts the bytes under their digest unless this process put them (or found them) there since
   * `freshSince`. A dedup hit needs no newer LastModified: gc records when it removes, and a batch
   * whose blobs were written before that writes them again before committing (gc.ts).
   */
  async write(digest: string, bytes: Uint8Array, freshSince = Infinity): Promise<void> {
    const pending = this.inFlight.get(digest);
    if (pending) await pending;
    const last = this.recent.get(digest);
    if (last !== undefined && last >= freshSince) return;
    const started = Date.now();
    const put = this.put(digest, bytes).finally(() => this.inFlight.delete(digest));
    this.inFlight.set(digest, put);
    await put;
    if (this.recent.size >= RECENT_LIMIT) this.recent = new Map();
    this.recent.set(digest, started);
  }

  /** An object cannot be touched: it is written again if it is gone, and a 412 says it is there. */
  async refresh(digest: string, bytes: Uint8Array): Promise<void> {
    this.recent.delete(digest);
    await this.write(digest, bytes);
  }

  /** An object is durable once its PUT is answered. */
  async flushDirectories(): Promise<void> {}

  private async put(digest: string, bytes: Uint8Array): Promise<void> {
    const Key = this.keyOf(digest);
    try {
      if (bytes.length > MULTIPART_MIN) await this.putInParts(Key, bytes);
      else {
        // Content-MD5 as well: servers that ignore the SHA-256 header (radosgw before Reef) check it.
        const ChecksumSHA256 = Buffer.from(digest, 'hex').toString('base64');
        const ContentMD5 = createHash('md5').update(bytes).digest('base64');
        await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key, Body: bytes, ChecksumSHA256, ContentMD5, IfNoneMatch: '*', ContentLength: bytes.length }));
      }
    } catch (error) {
      if (alreadyThere(error)) return;
      throw this.failure(error, `writing ${this.locationOf(digest)}`);
    }
  }

  /**
   * A large value in parts, one at a time (the import's concurrency bounds how many values are in
   * flight). A multipart upload cannot be made conditional everywhere, so an object already there
   * is looked for first; two hosts sending the same value at once write the same bytes.
   */
  private async putInParts(Key: string, bytes: Uint8Array): Promise<void> {
    const exists = await this.statKey(Key);
    if (exists) return;
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.where.bucket, Key, Body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), ChecksumAlgorithm: 'SHA256' },
      partSize: PART_SIZE,
      queueSize: 1,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async read(digest: string): Promise<Buffer> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(digest) }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (error) {
      throw this.failure(error, `reading ${this.locationOf(digest)}`);
    }
  }

  locationOf(digest: string): string {
    return `s3://${this.where.bucket}/${this.keyOf(digest)}`;
  }

  async stat(digest: string): Promise<BlobStat | null> {
    return this.statKey(this.keyOf(digest));
  }

  private async statKey(Key: string): Promise<BlobStat | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key }));
      return { size: head.ContentLength ?? 0, mtimeMs: head.LastModified?.getTime() ?? 0, isFile: true };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw this.failure(error, `looking up s3://${this.where.bucket}/${Key}`);
    }
  }

  /** Every object under the prefix, a page (up to 1000) per request, in key order: digest order. */
  async *list(): AsyncGenerator<ListedBlob | StrayEntry> {
    const top = this.where.prefix ? `${this.where.prefix}/` : '';
    let ContinuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: top, ContinuationToken }));
      } catch (error) {
        throw this.failure(error, `listing ${this.location}`);
      }
      for (const object of page.Contents ?? []) {
        const name = object.Key!.slice(top.length);
        const digest = name.slice(3);
        const place = `s3://${this.where.bucket}/${object.Key!}`;
        if (!isDigest(digest) || name !== `${digest.slice(0, 2)}/${digest}`) {
          yield { kind: 'stray', path: place, reason: 'not a blob name' };
          continue;
        }
        yield { kind: 'blob', digest, path: place, stat: { size: object.Size ?? 0, mtimeMs: object.LastModified?.getTime() ?? 0, isFile: true } };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /** One DeleteObjects request; gc holds the index's write lock around it (gc.ts). */
  async remove(blobs: readonly ListedBlob[]): Promise<number> {
    if (blobs.length === 0) return 0;
    try {
      const answer = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.where.bucket, Delete: { Quiet: true, Objects: blobs.map((blob) => ({ Key: this.keyOf(blob.digest) })) } }),
      );
      const failed = answer.Errors ?? [];
      if (failed.length > 0) throw Object.assign(new Error(failed[0]!.Code ?? 'DeleteObjects failed'), { name: failed[0]!.Code, $metadata: { httpStatusCode: failed[0]!.Code === 'AccessDenied' ? 403 : 500 } });
      return blobs.length;
    } catch (error) {
      throw this.failure(error, `removing objects under ${this.location}`);
    }
  }

  /**
   * The SDK's error as one sentence of bwrite's, with a code the retry rules know (errors.ts):
   * E_S3_UNAVAILABLE is retried, E_S3_DENIED and E_S3_CONFIG end the run, ENOENT is a missing object; the
   * SDK's text is left out, as some of its errors quote the access key id.
   */
  private failure(error: unknown, doing: string): BwriteError {
    if (error instanceof BwriteError) return error;
    const sdk = error as SdkError;
    const status = statusOf(error);
    const name = sdk.name && /^[A-Za-z]+$/.test(sdk.name) ? sdk.name : 'Error';
    const answered = status ? `${status} ${name}` : name;
    if (status === 404 && (name === 'NoSuchKey' || name === 'NotFound')) return new BwriteError('ENOENT', `${doing}: no such object`, { cause: error });
    if (status === 403 || DENIED.has(name)) {
      return new BwriteError('E_S3_DENIED', `object storage refused ${doing} (${answered}): check the bucket, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile) and the bucket policy`, { cause: error });
    }
    if (status === 429 || (status !== undefined && status >= 500) || name === 'TimeoutError' || NETWORK.has(sdk.code ?? '')) {
      return new BwriteError('E_S3_UNAVAILABLE', `object storage did not answer ${doing} (${status ? answered : (sdk.code ?? name)})`, { cause: error });
    }
    // Before any request: the SDK found no credentials or no region in its chain.
    if (status === undefined && (name === 'CredentialsProviderError' || /region/i.test((error as Error).message ?? ''))) {
      const missing = name === 'CredentialsProviderError' ? 'no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE' : 'no region: set AWS_REGION, or AWS_PROFILE';
      return new BwriteError('E_S3_CONFIG', `object storage cannot be used for ${doing}: ${missing}`, { cause: error });
    }
    return new BwriteError('E_S3', `object storage failed ${doing} (${answered})`, { cause: error });
  }
}

const DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'NoSuchBucket', 'AllAccessDisabled', 'InvalidBucketName']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

function statusOf(error: unknown): number | undefined {
  return (error as SdkError | null)?.$metadata?.httpStatusCode;
}

/** A conditional PUT refused because the object exists (409: another PUT of it was under way). */
function alreadyThere(error: unknown): boolean {
  const status = statusOf(error);
  return status === 412 || (status === 409 && (error as SdkError).name === 'ConditionalRequestConflict');
}
