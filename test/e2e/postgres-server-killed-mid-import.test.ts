// The PostgreSQL server stops in the middle of an import: what committed stays, the import ends
// with exit 3, and once the server is back `--resume` stores the rest, nothing lost or doubled.
import { expect, test } from 'vitest';
import { linesOf, runBwrite } from '../helpers/cli.js';
import { importUnderWay, privatePostgresAvailable, PrivatePostgres } from '../helpers/private-postgres.js';
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

    const exported = linesOf((await runBwrite(['export', '--store', store], { cwd: dir, env })).stdout).map((line) => (JSON.parse(line) as { id: string }).id);
    expect(exported).toHaveLength(n);
    expect(new Set(exported).size).toBe(n);
    const stats = JSON.parse((await runBwrite(['stats', '--json', '--store', store], { cwd: dir, env })).stdout) as { items: number };
    expect(stats.items).toBe(n);
    expect((await runBwrite(['verify', '--deep', '--store', store], { cwd: dir, env })).code).toBe(0);
  } finally {
    server.remove();
  }
}, 240_000);
