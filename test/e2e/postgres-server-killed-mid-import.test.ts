// The PostgreSQL server stops in the middle of an import: what committed stays, the import ends
// with exit 3, and once the server is back `--resume` stores the rest, nothing lost or doubled.
import { expect, test } from 'vitest';
import { linesOf, runBwrite } from '../helpers/cli.js';
import { expectEachRecordOnce, importUnderWay, privatePostgresAvailable, PrivatePostgres } from '../helpers/private-postgres.js';
import { expectOnlyBwriteLines } from '../helpers/robustness.js';

test.runIf(privatePostgresAvailable)('a PostgreSQL server killed mid-import keeps what committed, and --resume after its restart completes the rest', async () => {
  const server = new PrivatePostgres();
  try {
    const n = 150_000;
    const { dir, env, input, store, importing } = await importUnderWay(server, n, ['--retries', '2', '--retry-delay', '50', '--retry-max-delay', '200']);
    server.crash();
    const killed = await importing.result;
    expect(killed.code).toBe(3);
    expectOnlyBwriteLines(killed.stderr);
    expect(killed.stderr).not.toContain('(an unexpected error');

    server.start();
    const resumed = await runBwrite(['import', input, '--key', 'id', '--store', store, '--resume', '--json'], { cwd: dir, env });
    const summary = JSON.parse(linesOf(resumed.stdout).at(-1)!) as { status: string; written: number; skipped: number };
    expect(resumed.code).toBe(0);
    expect(summary.written).toBeGreaterThan(0);
    expect(summary.written).toBeLessThan(n);

    await expectEachRecordOnce({ dir, env, store }, n);
  } finally {
    server.remove();
  }
}, 240_000);
