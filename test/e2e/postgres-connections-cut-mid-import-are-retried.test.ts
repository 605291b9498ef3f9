// Connections to PostgreSQL cut in the middle of an import (57P01, a reset) are transient: the
// import reconnects, retries what did not commit, and ends with every record stored once.
import { expect, test } from 'vitest';
import { linesOf, runBwrite, sleep } from '../helpers/cli.js';
import { cutBwriteConnections, importUnderWay, privatePostgresAvailable, PrivatePostgres } from '../helpers/private-postgres.js';
import { expectOnlyBwriteLines } from '../helpers/robustness.js';

test.runIf(privatePostgresAvailable)('an import whose PostgreSQL connections are cut again and again reconnects and stores every record once', async () => {
  const server = new PrivatePostgres();
  try {
    const n = 150_000;
    const { dir, env, store, importing } = await importUnderWay(server, n, ['--json']);
    let cut = 0;
    for (let i = 0; i < 5; i++) {
      cut += await cutBwriteConnections(store);
      await sleep(300);
    }
    expect(cut).toBeGreaterThan(0);
    const run = await importing.result;
    expectOnlyBwriteLines(run.stderr);
    const summary = JSON.parse(linesOf(run.stdout).at(-1)!) as { status: string; read: number; failed: number };
    expect({ code: run.code, status: summary.status, read: summary.read, failed: summary.failed }).toEqual({ code: 0, status: 'ok', read: n, failed: 0 });

    const exported = linesOf((await runBwrite(['export', '--store', store], { cwd: dir, env })).stdout).map((line) => (JSON.parse(line) as { id: string }).id);
    expect(new Set(exported).size).toBe(n);
    expect(exported).toHaveLength(n);
    const stats = JSON.parse((await runBwrite(['stats', '--json', '--store', store], { cwd: dir, env })).stdout) as { items: number };
    expect(stats.items).toBe(n);
    expect((await runBwrite(['verify', '--deep', '--store', store], { cwd: dir, env })).code).toBe(0);
  } finally {
    server.remove();
  }
}, 240_000);
