import { BwriteError } from '../errors.js';

/** Where a store's blobs are in object storage: `s3://BUCKET/PREFIX`. */
export interface S3Location {
  bucket: string;
  /** Without a slash at either end; empty for the bucket's top. */
  prefix: string;
  /** The URL as the store remembers it. */
  url: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses `s3://BUCKET/PREFIX` (PREFIX optional); throws a usage error naming `from` for anything else. */
export function parseS3Url(text: string, from: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(text);
  const bucket = match?.[1] ?? '';
  const prefix = (match?.[2] ?? '').replace(/\/+$/, '');
  if (!match || !BUCKET.test(bucket) || prefix.includes('//') || /[\u0000-\u001f\u007f]/.test(prefix)) {
    throw new BwriteError('E_USAGE', `${from} must be s3://BUCKET/PREFIX (a bucket name of 3 to 63 lowercase letters, digits, dots and dashes; a prefix without empty parts or control characters), got '${text}'`);
  }
  return { bucket, prefix, url: prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}` };
}
