// Issue 17's shared store, measured beside its floors on the same servers: 1 KB records into
// PostgreSQL (values inline) against one COPY of the same rows, and 64 KB values into S3 against
// a minimal PUT loop at the same concurrency. Runs only where scripts/services' env is set; each
// run gets its own schema or prefix, dropped right after it (the servers are shared, and the
// object server keeps everything in memory). A configuration that fails is reported with its
// error line and left out of the later rounds; the others go on.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { runOnce, slug, summarise } from './rounds.mjs';
import { BENCH_DIR, NODE, bwriteCommand } from './tools.mjs';

// The SDK warns on Node 20 of its later releases' needs: noise in a bench's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const SHARED = 'shared';
/** The same number of writes in flight for bwrite and the PUT loop: bwrite's default. */
export const SHARED_CONCURRENCY = 10;
export const SHARED_ROWS = {
  pgFloor: 'floor pg COPY',
  pg: 'bwrite pg',
  s3Floor: 'floor s3 PUT',
  s3: 'bwrite s3',
  s3Pg: 'bwrite s3 + pg',
};
const REQUIRED = ['BWRITE_TEST_PG_URL', 'BWRITE_TEST_S3_URL', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

/** The servers from the environment, or `{ missing }`: the variables that are not set. */
export function sharedServices(env = process.env) {
  const missing = REQUIRED.filter((name) => !env[name]);
  if (missing.length) return { missing };
  const s3 = /^s3:\/\/([^/]+)(?:\/|$)/.exec(env.BWRITE_TEST_S3_URL);
  if (!s3) return { missing: ['BWRITE_TEST_S3_URL (as s3://BUCKET/PREFIX)'] };
  // The password goes by PGPASSWORD (libpq's variable, which bwrite and pg both read), never on a
  // command line: a failed run's error line quotes its arguments.
  const url = new URL(env.BWRITE_TEST_PG_URL);
  const password = decodeURIComponent(url.password);
  url.password = '';
  return { pgUrl: url.toString(), password, bucket: s3[1] };
}

export function skippedNote(missing) {
  return `Shared store (issue 17) skipped: ${missing.join(', ')} not set. Run \`scripts/services up\`, then \`set -a; . /var/tmp/bwrite-services/env; set +a\` (see docs/services.md).`;
}

/** `{ rows, concurrency }`: one summary per configuration, or `{ name, error }` for one that failed. */
export async function runShared(sets, services, { rounds, outDir }) {
  const made = madeOnServers(services);
  const configs = sharedConfigs(sets, services, made);
  const samples = new Map(configs.map((config) => [config.name, []]));
  const errors = new Map();
  try {
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < configs.length; i++) {
        const config = configs[(i + round) % configs.length];
        if (errors.has(config.name)) continue;
        try {
          const sample = await runOnce(config, path.join(outDir, slug(config.name), `round-${round + 1}`));
          samples.get(config.name).push(sample);
          process.stderr.write(`  [shared] round ${round + 1} ${config.name}: ${Math.round(sample.wallMs)} ms, ${sample.rssMb?.toFixed(0) ?? '?'} MB\n`);
        } catch (error) {
          errors.set(config.name, errorLine(error));
          process.stderr.write(`  [shared] round ${round + 1} ${config.name}: ERROR ${errors.get(config.name)}\n`);
        } finally {
          await made.drop();
        }
      }
    }
  } finally {
    await made.close();
  }
  const rows = configs.map((config) =>
    errors.has(config.name)
      ? { name: config.name, group: config.group, dataset: config.dataset.name, items: config.dataset.items, error: errors.get(config.name) }
      : summarise(config, samples.get(config.name)),
  );
  return { rows, concurrency: SHARED_CONCURRENCY };
}

function sharedConfigs(sets, services, made) {
  const env = { PGPASSWORD: services.password };
  const schemaUrl = () => {
    const url = new URL(services.pgUrl);
    url.searchParams.set('schema', made.schema());
    return url.toString();
  };
  const blobs = () => `s3://${services.bucket}/${made.prefix()}`;
  const c = ['--concurrency', String(SHARED_CONCURRENCY)];
  return [
    floor(SHARED_ROWS.pgFloor, sets.records, () => [path.join(BENCH_DIR, 'floors', 'pg-copy.mjs'), sets.records.file, services.pgUrl, made.schema()], env),
    bwriteShared(SHARED_ROWS.pg, sets.records, () => ['--store', schemaUrl()], env, made),
    floor(SHARED_ROWS.s3Floor, sets.values64k, () => [path.join(BENCH_DIR, 'floors', 's3-put.mjs'), sets.values64k.file, blobs(), String(SHARED_CONCURRENCY)], env),
    bwriteShared(SHARED_ROWS.s3, sets.values64k, (store) => ['--store', store, '--blobs', blobs(), ...c], env),
    bwriteShared(SHARED_ROWS.s3Pg, sets.values64k, () => ['--store', schemaUrl(), '--blobs', blobs(), ...c], env, made),
  ];
}

function floor(name, dataset, args, env) {
  return {
    name,
    group: 'floor',
    dataset,
    command: () => ({ cmd: NODE, args: args(), env }),
    check: (run) => {
      const { items } = JSON.parse(run.stdout);
      if (items !== dataset.items) throw new Error(`${name}: expected ${dataset.items} items, got ${items}`);
      return {};
    },
  };
}

/**
 * A bwrite import, run in its fresh store directory (a build that took the URL for a folder name
 * makes it there, not in the checkout). `made`: its index is in PostgreSQL, which the check
 * confirms before the run counts, so a build that stored into such a folder is an error.
 */
function bwriteShared(name, dataset, target, env, made = null) {
  return {
    name,
    group: 'bwrite',
    dataset,
    command: (store) => ({ ...bwriteCommand('import', dataset.file, ...target(store), '--json', '-q', ...dataset.keyArgs), env, cwd: store }),
    check: async (run) => {
      const summary = JSON.parse(run.stdout);
      if (summary.status !== 'ok' || summary.read !== dataset.items || summary.failed !== 0) {
        throw new Error(`expected ${dataset.items} records stored, got ${run.stdout.trim()}`);
      }
      if (made && !(await made.schemaHasTables())) throw new Error(`bwrite exited 0 but made no table in PostgreSQL schema ${made.lastSchema()}: the --store URL was not used as a PostgreSQL index`);
      return { ownItemsPerSecond: summary.itemsPerSecond, p95Ms: summary.latencyMs?.p95 ?? null };
    },
  };
}

/** One line: the exit code and the last line the process printed on stderr, or the check's complaint. */
function errorLine(error) {
  const stderr = error.result?.stderr?.trim();
  const text = error.exitCode !== undefined ? `exit ${error.exitCode}: ${stderr ? stderr.split('\n').at(-1) : '(nothing on stderr)'}` : error.message.split('\n')[0];
  return redact(text);
}

/** A URL's password never reaches the report, whatever a failing process printed. */
export function redact(text) {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):[^@\s]*@/gi, '$1:***@');
}

/**
 * The schemas and prefixes the runs made, dropped after each run: a schema with CASCADE, a
 * prefix by listing it and deleting what is there, 1,000 keys a request.
 */
function madeOnServers(services) {
  const schemas = [];
  const prefixes = [];
  let client = null;
  let s3 = null;
  const suffix = () => randomBytes(6).toString('hex');
  return {
    schema: () => {
      schemas.push(`bench_${suffix()}`);
      return schemas.at(-1);
    },
    prefix: () => {
      prefixes.push(`bench-${suffix()}`);
      return prefixes.at(-1);
    },
    lastSchema: () => schemas.at(-1),
    async schemaHasTables() {
      client ??= await connect(services);
      const { rows } = await client.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schemas.at(-1)]);
      return rows[0].n > 0;
    },
    async drop() {
      if (schemas.length) {
        client ??= await connect(services);
        for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
      if (prefixes.length) {
        s3 ??= new S3Client({ forcePathStyle: true });
        for (const prefix of prefixes.splice(0)) await deletePrefix(s3, services.bucket, `${prefix}/`);
      }
    },
    async close() {
      await client?.end();
      s3?.destroy();
    },
  };
}

async function connect(services) {
  const client = new pg.Client({ connectionString: services.pgUrl, password: services.password });
  await client.connect();
  return client;
}

async function deletePrefix(s3, bucket, prefix) {
  let token;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
    if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
