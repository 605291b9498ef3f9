import { BwriteError } from '../../errors.js';

/** A PostgreSQL store as `--store` names it. */
export interface PgLocation {
  /** What `pg` connects with: the URL without bwrite's own `schema` parameter. */
  connectionString: string;
  /** The PostgreSQL schema that holds the store's tables (`?schema=`, default `bwrite`). */
  schema: string;
  /** The location as every message names it: the password replaced by `***`. */
  shown: string;
}

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
  return { connectionString: url.toString(), schema, shown };
}
