// The PostgreSQL floor: only the essential work of putting 1 KB values inline in a PostgreSQL
// index. Parse, SHA-256, and every row sent with one `COPY … FROM STDIN` into a table of the shape
// of bwrite's items table (a text primary key, the value as bytea), in one transaction, as the
// table's owner. What bwrite adds over it (batches, totals, the run's history) is its cost.
// usage: node pg-copy.mjs FILE POSTGRES_URL SCHEMA
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { keyOf, readLines } from './lines.mjs';

const [file, url, schema] = process.argv.slice(2);
if (!/^[a-z_][a-z0-9_]*$/.test(schema ?? '')) throw new Error(`usage: node pg-copy.mjs FILE POSTGRES_URL SCHEMA (a plain lowercase name), got ${schema}`);
const client = new pg.Client({ connectionString: url });
await client.connect();
await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
await client.query(`CREATE TABLE ${schema}.items (
  key text PRIMARY KEY, sha256 text NOT NULL, size bigint NOT NULL, type text NOT NULL, inline bytea,
  source text, line bigint, run_id text, created_at bigint NOT NULL, updated_at bigint NOT NULL)`);

let items = 0;
let bytes = 0;

// COPY's text format: tab-separated columns; a bytea as \\x and hex; keys of the bench's records
// need no escaping, but a backslash, tab or newline in one would, so they are escaped all the same.
const escape = (text) => text.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]);

async function* rows() {
  let line = 0;
  const now = Date.now();
  let chunk = '';
  for await (const value of readLines(file)) {
    line++;
    const record = JSON.parse(value.toString('utf8'));
    const digest = createHash('sha256').update(value).digest('hex');
    chunk += `${escape(keyOf(record, line))}\t${digest}\t${value.length}\tjson\t\\\\x${value.toString('hex')}\t${escape(file)}\t${line}\tfloor\t${now}\t${now}\n`;
    items++;
    bytes += value.length;
    if (chunk.length >= 1024 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

await client.query('BEGIN');
await pipeline(Readable.from(rows()), client.query(copyFrom(`COPY ${schema}.items FROM STDIN`)));
await client.query('COMMIT');
await client.end();
console.log(JSON.stringify({ items, bytes }));
