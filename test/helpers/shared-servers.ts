// The real PostgreSQL and S3 servers of scripts/services, for tests of the shared store: each
// test gets its own schema and prefix, dropped when it is done (several people's tests share
// the servers).
import { randomBytes } from 'node:crypto';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';

/** The variables scripts/services' env file sets, which a process needs to reach the servers. */
export const SERVICE_VARIABLES = [
  'BWRITE_TEST_PG_URL',
  'BWRITE_TEST_S3_URL',
  'BWRITE_TEST_BUCKET',
  'PGHOST',
  'PGPORT',
  'PGUSER',
  'PGPASSWORD',
  'PGDATABASE',
  'PGSSLMODE',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
] as const;

export const servicesUp = Boolean(process.env.BWRITE_TEST_PG_URL && process.env.BWRITE_TEST_S3_URL);

export function serviceEnv(): Record<string, string | undefined> {
  return Object.fromEntries(SERVICE_VARIABLES.map((name) => [name, process.env[name]]));
}

export interface SharedStore {
  schema: string;
  bucket: string;
  prefix: string;
  /**
   * `--store` for a PostgreSQL URL (the test's own, or a host's view of it), with this store's
   * schema and without the password, which goes by PGPASSWORD: no credential on a command line.
   */
  storeUrl(pgUrl?: string): string;
  /** `--blobs`. */
  blobsUrl: string;
  /** Drops the schema and deletes every object under the prefix. */
  drop(): Promise<void>;
}

/** A fresh schema `t_<random>` and prefix `t-<random>` on the servers of the environment. */
export function sharedStore(): SharedStore {
  const suffix = randomBytes(6).toString('hex');
  const schema = `t_${suffix}`;
  const prefix = `t-${suffix}`;
  const bucket = process.env.BWRITE_TEST_BUCKET ?? /^s3:\/\/([^/]+)/.exec(process.env.BWRITE_TEST_S3_URL ?? '')?.[1];
  if (!process.env.BWRITE_TEST_PG_URL || !bucket) throw new Error('BWRITE_TEST_PG_URL and BWRITE_TEST_S3_URL must be set (scripts/services up, then source its env file)');
  return {
    schema,
    bucket,
    prefix,
    blobsUrl: `s3://${bucket}/${prefix}`,
    storeUrl(pgUrl = process.env.BWRITE_TEST_PG_URL!) {
      const url = new URL(pgUrl);
      url.password = '';
      url.searchParams.set('schema', schema);
      return url.toString();
    },
    async drop() {
      const client = new pg.Client({ connectionString: process.env.BWRITE_TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
      const s3 = new S3Client({ forcePathStyle: true });
      try {
        let token: string | undefined;
        do {
          const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
          const objects = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
          if (objects.length) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      } finally {
        s3.destroy();
      }
    },
  };
}
