// `?sslmode=` (or PGSSLMODE) means what it means to libpq: require encrypts without checking the
// certificate, verify-ca checks it against sslrootcert, verify-full checks the host name too;
// prefer falls back to no TLS on a server without it, allow to TLS on a server that takes nothing
// else. A refusal is exit 3 and one line, never a warning on stderr. On a server of the test's own
// that takes only TLS (a self-signed certificate), and on scripts/services' server, which has none.
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { linesOf, ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { pgStore, pgUrl } from '../helpers/postgres.js';
import { privatePostgresAvailable, PrivatePostgres } from '../helpers/private-postgres.js';

interface Outcome {
  code: number | null;
  lines: number;
  said: string;
}

async function importWith(store: string, env: Record<string, string | undefined> = {}): Promise<Outcome> {
  const dir = await tempDir('bwrite-pg-tls-');
  const input = await writeText(join(dir, 'in.ndjson'), ndjson(3, (i) => ({ id: `k${i}` })));
  const run = await runBwrite(['import', input, '--key', 'id', '-q', '--store', store], { cwd: dir, env: { XDG_STATE_HOME: join(dir, 'state'), PGSSLMODE: undefined, ...env } });
  return { code: run.code, lines: linesOf(run.stderr).length, said: run.stderr };
}

describe.runIf(privatePostgresAvailable)('a server that takes only TLS, with a self-signed certificate', () => {
  const server = privatePostgresAvailable ? new PrivatePostgres({ tlsOnly: true }) : null;
  afterAll(() => server?.remove());
  let n = 0;
  /** A store in a schema of its own on the server, over TCP with these settings. */
  const store = (settings: string) => `postgres://postgres@127.0.0.1:${server!.port}/postgres?schema=s${++n}&${settings}`;

  test('require, prefer and allow connect over TLS without checking the certificate; disable is turned away with exit 3 and one line', async () => {
    for (const mode of ['require', 'prefer', 'allow']) expect(await importWith(store(`sslmode=${mode}`)), mode).toEqual({ code: 0, lines: 0, said: '' });
    const refused = await importWith(store('sslmode=disable'));
    expect({ code: refused.code, lines: refused.lines }).toEqual({ code: 3, lines: 1 });
    expect(refused.said).toMatch(/^bwrite: error: cannot use the store at .*no encryption/);
  });

  test('verify-ca accepts the certificate its sslrootcert signs; verify-full also wants the host in it, and neither takes an unknown signer', async () => {
    const root = `sslrootcert=${encodeURIComponent(server!.certificate!)}`;
    expect(await importWith(store(`sslmode=verify-ca&${root}`))).toEqual({ code: 0, lines: 0, said: '' });
    // The certificate names bwrite-test.invalid, not 127.0.0.1; without sslrootcert, no CA of the system's signed it.
    for (const settings of [`sslmode=verify-full&${root}`, 'sslmode=verify-full']) {
      const refused = await importWith(store(settings));
      expect({ settings, code: refused.code, lines: refused.lines, error: /^bwrite: error: cannot use the store at /.test(refused.said) }).toEqual({ settings, code: 3, lines: 1, error: true });
    }
    // verify-ca with no CA of one's own checks nothing that matters: a usage error naming where the CA goes.
    const unchecked = await importWith(store('sslmode=verify-ca'));
    expect({ code: unchecked.code, lines: unchecked.lines }).toEqual({ code: 2, lines: 1 });
    expect(unchecked.said).toMatch(/sslmode=verify-ca checks the server's certificate against a CA of your own: name its file with sslrootcert=, PGSSLROOTCERT or ~\/\.postgresql\/root\.crt/);
  });

  test('PGSSLMODE and PGSSLROOTCERT stand in for a URL that names no sslmode, as for libpq', async () => {
    expect(await importWith(store('application_name=x'), { PGSSLMODE: 'require' })).toEqual({ code: 0, lines: 0, said: '' });
    expect(await importWith(store('application_name=x'), { PGSSLMODE: 'verify-ca', PGSSLROOTCERT: server!.certificate! })).toEqual({ code: 0, lines: 0, said: '' });
    expect((await importWith(store('application_name=x'), { PGSSLMODE: 'disable' })).code).toBe(3);
  });
});

describe.runIf(Boolean(pgUrl))('a server without TLS', () => {
  test('prefer falls back to a connection without it; require is exit 3 and one line; an sslmode libpq does not know is a usage error', async () => {
    const at = (settings: string) => {
      const url = new URL(pgStore().url);
      for (const [name, value] of new URLSearchParams(settings)) url.searchParams.set(name, value);
      return url.toString();
    };
    expect(await importWith(at('sslmode=prefer'))).toEqual({ code: 0, lines: 0, said: '' });
    expect(await importWith(at('sslmode=allow'))).toEqual({ code: 0, lines: 0, said: '' });
    const refused = await importWith(at('sslmode=require'));
    expect({ code: refused.code, lines: refused.lines }).toEqual({ code: 3, lines: 1 });
    const unknown = await importWith(at('sslmode=no-verify'));
    expect({ code: unknown.code, lines: unknown.lines }).toEqual({ code: 2, lines: 1 });
    expect(unknown.said).toMatch(/sslmode 'no-verify' is not one of libpq's: disable, allow, prefer, require, verify-ca, verify-full/);
  });
});
