// A PostgreSQL server of a test's own (never the shared one), which the test may stop and start
// again: initdb and pg_ctl from Debian's postgresql package, as the postgres user, on a loopback port.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const PG_BIN = '/usr/lib/postgresql/15/bin';

export const privatePostgresAvailable = existsSync(join(PG_BIN, 'pg_ctl'));

export class PrivatePostgres {
  readonly dir: string;
  readonly port: number;

  constructor() {
    // Under /var/tmp: the postgres user must traverse every folder above its data.
    this.dir = mkdtempSync('/var/tmp/bwrite-private-pg-');
    chmodSync(this.dir, 0o777);
    this.port = 40000 + Math.floor(Math.random() * 9000);
    this.asPostgres('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    this.start();
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres?sslmode=disable`;
  }

  start(): void {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off`;
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

  private asPostgres(tool: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args], { stdio: 'ignore', timeout: 60_000 });
  }
}
