// A PostgreSQL server of a test's own (never the shared one), which the test may stop and start
// again: initdb and pg_ctl from Debian's postgresql package, as the postgres user, on a loopback port.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { linesOf, ndjson, runBwrite, startBwrite, tempDir, writeText, type RunningBwrite } from './cli.js';
import { freePort } from './ports.js';
import { waitUntil } from './robustness.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';

export const privatePostgresAvailable = existsSync(join(PG_BIN, 'pg_ctl'));

export class PrivatePostgres {
  readonly dir: string;
  readonly port: number;
  /** With `tlsOnly`: the server's self-signed certificate (its own CA), named for `bwrite-test.invalid` only. */
  readonly certificate: string | null;

  /** `tlsOnly`: connections over TCP must use TLS (pg_hba.conf), as a managed database's are. */
  constructor(options: { tlsOnly?: boolean } = {}) {
    // Under /var/tmp: the postgres user must traverse every folder above its data.
    this.dir = mkdtempSync('/var/tmp/bwrite-private-pg-');
    chmodSync(this.dir, 0o777);
    this.port = freePort();
    this.asPostgres('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    this.certificate = options.tlsOnly ? this.requireTls() : null;
    this.start();
  }

  get url(): string {
    return this.urlAs('postgres');
  }

  /** The server's URL for another role (the server trusts every role on loopback). */
  urlAs(role: string): string {
    return `postgres://${role}@127.0.0.1:${this.port}/postgres?sslmode=disable`;
  }

  /** Runs statements as the superuser (roles, grants), over the server's Unix socket. */
  async admin(statements: string[]): Promise<void> {
    const client = new pg.Client({ host: this.dir, port: this.port, user: 'postgres', database: 'postgres' });
    await client.connect();
    try {
      for (const sql of statements) await client.query(sql);
    } finally {
      await client.end();
    }
  }

  start(): void {
    const tls = this.certificate ? ` -c ssl=on -c ssl_cert_file=${this.certificate} -c ssl_key_file=${join(this.dir, 'server.key')}` : '';
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off${tls}`;
    this.asPostgres('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'log'), '-w', '-o', options, 'start']);
  }

  /** Stops the server as a crash would: every connection cut, nothing flushed first. */
  crash(): void {
    this.asPostgres('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  remove(): void {
    try {
      this.crash();
    } catch {
      // Already stopped.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** A self-signed certificate and key for the server, and a pg_hba.conf that turns away TCP without TLS. */
  private requireTls(): string {
    const certificate = join(this.dir, 'server.crt');
    const key = join(this.dir, 'server.key');
    execFileSync('openssl', ['req', '-new', '-x509', '-days', '2', '-nodes', '-subj', '/CN=bwrite-test.invalid', '-addext', 'subjectAltName=DNS:bwrite-test.invalid', '-keyout', key, '-out', certificate], { stdio: 'ignore' });
    execFileSync('chown', ['postgres', key, certificate]);
    chmodSync(key, 0o600);
    chmodSync(certificate, 0o644);
    writeFileSync(join(this.data, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n');
    return certificate;
  }

  private asPostgres(tool: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args], { stdio: 'ignore', timeout: 60_000 });
  }
}

/** Items committed so far, or 0 while the store's tables are not there yet. */
export async function committedItems(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const [table] = (await client.query<{ items: string | null }>(`SELECT to_regclass('bwrite.items') AS items`)).rows;
    if (!table?.items) return 0;
    return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM bwrite.items`)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** Cuts every connection bwrite holds to the server, as an administrator's pg_terminate_backend does (57P01). */
export async function cutBwriteConnections(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = (await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bwrite'`)).rows;
    return rows.length;
  } finally {
    await client.end();
  }
}

/** An import of `records` small records into `server`'s store (as `store` says), started and past its first committed batch. */
export async function importUnderWay(
  server: PrivatePostgres,
  records: number,
  args: string[],
  store = server.url,
): Promise<{ dir: string; env: Record<string, string | undefined>; input: string; store: string; importing: RunningBwrite }> {
  const dir = await tempDir('bwrite-pg-');
  const env = { XDG_STATE_HOME: join(dir, 'state'), PGPASSWORD: undefined };
  const input = await writeText(join(dir, 'in.ndjson'), ndjson(records, (i) => ({ id: `k${i}`, body: 'v'.repeat(200) })));
  const importing = startBwrite(['import', input, '--key', 'id', '--store', store, '--batch-size', '100', ...args], { cwd: dir, env });
  await waitUntil(async () => (await committedItems(store)) > 0, 'the first committed batch', 60_000, 100);
  return { dir, env, input, store, importing };
}

/** The store holds each of `importUnderWay`'s records once: in export, in stats, and verify --deep is clean. */
export async function expectEachRecordOnce(underWay: { dir: string; env: Record<string, string | undefined>; store: string }, records: number): Promise<void> {
  const { dir, env, store } = underWay;
  const exported = linesOf((await runBwrite(['export', '--store', store], { cwd: dir, env })).stdout).map((line) => (JSON.parse(line) as { id: string }).id);
  expect(exported).toHaveLength(records);
  expect(new Set(exported).size).toBe(records);
  const stats = JSON.parse((await runBwrite(['stats', '--json', '--store', store], { cwd: dir, env })).stdout) as { items: number };
  expect(stats.items).toBe(records);
  expect((await runBwrite(['verify', '--deep', '--store', store], { cwd: dir, env })).code).toBe(0);
}
