import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BwriteError } from '../../errors.js';

/** A PostgreSQL store as `--store` names it. */
export interface PgLocation {
  /** What `pg` connects with: the URL without bwrite's own `schema` parameter. */
  connectionString: string;
  /** The PostgreSQL schema that holds the store's tables (`?schema=`, default `bwrite`). */
  schema: string;
  /** The location as every message names it: the password replaced by `***`. */
  shown: string;
  /**
   * libpq's `allow` and `prefer` try a second way when the server refuses the first: without
   * TLS when it has none (prefer), with it when it accepts nothing else (allow).
   */
  fallback: { connectionString: string; when: 'server-has-no-tls' | 'server-needs-tls' } | null;
}

/** libpq's TLS modes; `sslmode` names one, or `PGSSLMODE` when the URL does not. */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export const DEFAULT_PG_SCHEMA = 'bwrite';

const PG_SCHEMES = /^postgres(ql)?:\/\//i;
/** A plain identifier, so that the schema name can be quoted into DDL without escaping anything. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Whether `--store` names a PostgreSQL store rather than a directory. */
export function isPgLocation(location: string): boolean {
  return PG_SCHEMES.test(location);
}

/**
 * A store's location as messages, summaries, run history and metrics may show it: a URL's password
 * is replaced by `***`; a directory is shown as it is. The one place that hides credentials.
 */
export function redactLocation(location: string): string {
  if (!isPgLocation(location)) return location;
  return location.replace(/^([a-z]+:\/\/[^:@/?#]*):[^/?#]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** Parses `postgres://USER@HOST:PORT/DB[?schema=NAME&sslmode=…]`; a bad one is a usage error. */
export function parsePgLocation(location: string): PgLocation {
  const shown = redactLocation(location);
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new BwriteError('E_USAGE', `--store ${shown} is not a valid URL; expected postgres://USER@HOST:PORT/DB[?schema=NAME]`);
  }
  const schema = url.searchParams.get('schema') ?? DEFAULT_PG_SCHEMA;
  if (!IDENTIFIER.test(schema)) {
    throw new BwriteError('E_USAGE', `--store ${shown}: schema '${schema.slice(0, 80)}' must be 1 to 63 lower-case letters, digits or _, starting with a letter or _`);
  }
  url.searchParams.delete('schema');
  const named = url.searchParams.get('sslmode');
  const mode = named ?? process.env.PGSSLMODE ?? '';
  if (mode === '') return { connectionString: url.toString(), schema, shown, fallback: null };
  if (!SSL_MODES.includes(mode)) {
    const where = named === null ? `PGSSLMODE '${mode.slice(0, 40)}' (for --store ${shown})` : `--store ${shown}: sslmode '${mode.slice(0, 40)}'`;
    throw new BwriteError('E_USAGE', `${where} is not one of libpq's: ${SSL_MODES.join(', ')}`);
  }
  const rootCert = url.searchParams.get('sslrootcert') ?? defaultRootCert();
  if (mode === 'verify-ca' && !rootCert) {
    throw new BwriteError('E_USAGE', `--store ${shown}: sslmode=verify-ca checks the server's certificate against a CA of your own: name its file with sslrootcert=, PGSSLROOTCERT or ~/.postgresql/root.crt`);
  }
  const tls = (sslmode: string) => libpqTls(url, sslmode, rootCert);
  if (mode === 'prefer') return { connectionString: tls('require'), schema, shown, fallback: { connectionString: tls('disable'), when: 'server-has-no-tls' } };
  if (mode === 'allow') return { connectionString: tls('disable'), schema, shown, fallback: { connectionString: tls('require'), when: 'server-needs-tls' } };
  return { connectionString: tls(mode), schema, shown, fallback: null };
}

/**
 * The URL for pg with `sslmode` as libpq means it: pg otherwise takes require and verify-ca for
 * verify-full (a self-signed server refused) and says so on stderr. A root certificate makes
 * require check the chain, as in libpq.
 */
function libpqTls(url: URL, sslmode: string, rootCert: string | null): string {
  const copy = new URL(url);
  copy.searchParams.set('sslmode', sslmode);
  copy.searchParams.set('uselibpqcompat', 'true');
  if (rootCert && sslmode !== 'disable') copy.searchParams.set('sslrootcert', rootCert);
  return copy.toString();
}

/** libpq's root certificate when the URL names none: PGSSLROOTCERT, else ~/.postgresql/root.crt if it is there. */
function defaultRootCert(): string | null {
  if (process.env.PGSSLROOTCERT) return process.env.PGSSLROOTCERT;
  const file = path.join(os.homedir(), '.postgresql', 'root.crt');
  return fs.existsSync(file) ? file : null;
}
