import { describe, expect, it } from 'vitest';
import { isPgLocation, parsePgLocation, redactLocation } from '../../src/store/pg/location.js';

describe('a store location', () => {
  it('names a PostgreSQL store by a postgres:// or postgresql:// URL, and anything else is a directory', () => {
    expect(isPgLocation('postgres://u@h/db')).toBe(true);
    expect(isPgLocation('PostgreSQL://u@h/db')).toBe(true);
    expect(isPgLocation('./postgres://x')).toBe(false);
    expect(isPgLocation('/var/lib/bwrite')).toBe(false);
  });

  it('is shown without its password, wherever the password is written', () => {
    expect(redactLocation('postgres://u:secret@h:5432/db?schema=s')).toBe('postgres://u:***@h:5432/db?schema=s');
    expect(redactLocation('postgres://u:se@cr:et@h/db')).toBe('postgres://u:***@h/db');
    expect(redactLocation('postgres://:secret@h/db')).toBe('postgres://:***@h/db');
    expect(redactLocation('postgres://u@h/db?sslmode=require&password=secret')).toBe('postgres://u@h/db?sslmode=require&password=***');
    expect(redactLocation('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(redactLocation('./store:with:colons@x')).toBe('./store:with:colons@x');
  });

  it('takes its schema from ?schema= (default bwrite) and hands pg the URL without it', () => {
    expect(parsePgLocation('postgres://u:pw@h:1/db?schema=t_1&sslmode=verify-full')).toEqual({
      connectionString: 'postgres://u:pw@h:1/db?sslmode=verify-full&uselibpqcompat=true',
      schema: 't_1',
      shown: 'postgres://u:***@h:1/db?schema=t_1&sslmode=verify-full',
      fallback: null,
    });
    expect(parsePgLocation('postgres://h/db').schema).toBe('bwrite');
  });

  it('refuses a schema that is not a plain identifier, as a usage error that does not show the password', () => {
    for (const schema of ['Bad', 'a-b', 'x"; DROP TABLE t; --', '1abc', '']) {
      let caught: unknown;
      try {
        parsePgLocation(`postgres://u:secret@h/db?schema=${encodeURIComponent(schema)}`);
      } catch (error) {
        caught = error;
      }
      expect(caught, schema).toMatchObject({ code: 'E_USAGE' });
      expect((caught as Error).message).not.toContain('secret');
    }
  });
});
