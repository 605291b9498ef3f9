// Connections to PostgreSQL cut in the middle of an import (57P01, a reset) are transient: the
// import reconnects, retries what did not commit, and ends with every record stored once.
import { expect, test } from 'vitest';
import { linesOf, sleep } from '../helpers/cli.js';
import { cutBwriteConnections, expectEachRecordOnce, importUnderWay, privatePostgresAvailable, PrivatePostgres } from '../helpers/private-postgres.js';
import { expectOnlyBwriteLines } from '../helpers/robustness.js';

test.runIf(privatePostgresAvailable)('an import whose PostgreSQL connections are cut again and again reconnects and stores every record once', async () => {
  const server = new PrivatePostgres();
  try {
    const n = 150_000;
    const { dir, env, store, importing } = await importUnderWay(server, n, ['--json', '--retries', '10']);
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

    await expectEachRecordOnce({ dir, env, store }, n);
  } finally {
    server.remove();
  }
}, 240_000);
