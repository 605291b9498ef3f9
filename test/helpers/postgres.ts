// PostgreSQL stores for tests: each test gets a schema of its own on the shared server, dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { onTestFinished } from 'vitest';

/** The server the tests use (scripts/services), or undefined when it is not up: the tests then do not run. */
export const pgUrl = process.env.BWRITE_TEST_PG_URL;

/** A store URL naming a fresh schema `t_<random>`, dropped when the test finishes. */
export function pgStore(): { url: string; schema: string } {
  if (!pgUrl) throw new Error('BWRITE_TEST_PG_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  onTestFinished(() => dropSchema(schema));
  const url = new URL(pgUrl);
  url.searchParams.set('schema', schema);
  return { url: url.toString(), schema };
}

/** The password in the server's URL: what no output may show. */
export function pgPassword(): string {
  return decodeURIComponent(new URL(pgUrl!).password);
}

/** Runs one statement on the test server (to look at or prepare what bwrite left). */
export async function pgQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
