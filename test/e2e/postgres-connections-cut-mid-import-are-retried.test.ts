// Connections to PostgreSQL cut in the middle of an import (57P01, a reset), or refused for a while
// (53300), are transient: the import reconnects, retries what did not commit, and ends with every
// record stored once.
import { readFile } from 'node:fs/promises';
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
    const summary = JSON.parse(linesOf(run.stdout).at(-1)!) as { status: string; read: number; failed: number; failuresFile: string | null };
    // A failed item's error, if any, shows in the assertion: what a cut turned into.
    const firstFailure = summary.failed > 0 && summary.failuresFile ? linesOf(await readFile(summary.failuresFile, 'utf8'))[0] : undefined;
    expect({ code: run.code, status: summary.status, read: summary.read, failed: summary.failed, firstFailure }).toEqual({ code: 0, status: 'ok', read: n, failed: 0, firstFailure: undefined });

    await expectEachRecordOnce({ dir, env, store }, n);
  } finally {
    server.remove();
  }
}, 240_000);

test.runIf(privatePostgresAvailable)('an import whose role is at its connection limit (53300) when it reconnects waits with its backoff, then stores every record once', async () => {
  const server = new PrivatePostgres();
  try {
    // A role of its own: the superuser is not held to a connection limit.
    await server.admin(['CREATE ROLE importer LOGIN', 'GRANT CREATE ON DATABASE postgres TO importer']);
    const n = 100_000;
    const underWay = await importUnderWay(server, n, ['--json', '--retries', '10', '--retry-delay', '200'], server.urlAs('importer'));
    await server.admin(['ALTER ROLE importer CONNECTION LIMIT 0']);
    expect(await cutBwriteConnections(server.url)).toBeGreaterThan(0);
    await sleep(1500);
    await server.admin(['ALTER ROLE importer CONNECTION LIMIT -1']);
    const run = await underWay.importing.result;
    expectOnlyBwriteLines(run.stderr);
    const summary = JSON.parse(linesOf(run.stdout).at(-1)!) as { status: string; read: number; failed: number; retries: number };
    expect({ code: run.code, status: summary.status, read: summary.read, failed: summary.failed }).toEqual({ code: 0, status: 'ok', read: n, failed: 0 });
    expect(summary.retries).toBeGreaterThan(0);

    await expectEachRecordOnce(underWay, n);
  } finally {
    server.remove();
  }
}, 240_000);
