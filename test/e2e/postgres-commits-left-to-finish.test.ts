// A batch's COMMIT is left to PostgreSQL while the next batch is parsed (SyncBridge.runAsync): the
// next call on the connection still comes after it, and a COMMIT that fails leaves no transaction
// open for the next one to stumble into. Runs against the server scripts/services starts.
import { describe, expect, test } from 'vitest';
import { SyncBridge } from '../../dist/store/pg/sync-bridge.js';
import { pgStore, pgUrl } from '../helpers/postgres.js';

function bridgeOn(schema: string): SyncBridge {
  const bridge = new SyncBridge({ connectionString: pgUrl, options: `-c search_path="${schema}"` });
  bridge.run('main', [{ sql: `CREATE SCHEMA "${schema}"` }, { sql: `CREATE TABLE t (n integer PRIMARY KEY)` }]);
  return bridge;
}

const count = (bridge: SyncBridge) => Number(bridge.run('main', [{ sql: 'SELECT count(*) AS n FROM t' }])[0]!.rows[0]!.n);

/** Runs `body` with a bridge to a schema of its own, closed afterwards. */
async function onBridge(body: (bridge: SyncBridge) => Promise<void>): Promise<void> {
  const bridge = bridgeOn(pgStore().schema);
  try {
    await body(bridge);
  } finally {
    bridge.close();
  }
}

/** A transaction whose COMMIT, left to finish, fails on a key already there (23505). */
function failingCommit(bridge: SyncBridge): Promise<unknown> {
  bridge.run('main', [{ sql: 'INSERT INTO t VALUES (1)' }]);
  bridge.run('main', [{ sql: 'BEGIN' }, { sql: 'INSERT INTO t VALUES (2)' }], 'begin');
  return bridge.runAsync('main', [{ sql: 'INSERT INTO t VALUES (1)' }, { sql: 'COMMIT' }], 'end');
}

describe.runIf(Boolean(pgUrl))('a COMMIT left to finish while the caller goes on', () => {
  test('a call made before it has finished runs after it, and sees what it committed', () =>
    onBridge(async (bridge) => {
      bridge.run('main', [{ sql: 'BEGIN' }, { sql: 'INSERT INTO t SELECT generate_series(1, 5000)' }], 'begin');
      const committed = bridge.runAsync('main', [{ sql: 'INSERT INTO t VALUES (0)' }, { sql: 'COMMIT' }], 'end');
      expect(count(bridge)).toBe(5001);
      await expect(committed).resolves.toHaveLength(2);
      expect(count(bridge)).toBe(5001);
    }));

  test('one that fails rejects with the server code, and leaves the connection out of any transaction', () =>
    onBridge(async (bridge) => {
      await expect(failingCommit(bridge)).rejects.toMatchObject({ code: '23505' });
      // Neither "current transaction is aborted" nor a row of the failed transaction.
      expect(count(bridge)).toBe(1);
      bridge.run('main', [{ sql: 'INSERT INTO t VALUES (3)' }]);
      expect(count(bridge)).toBe(2);
    }));

  test('one that fails while a later call is already waiting for it rejects all the same, and the later call runs outside its transaction', () =>
    onBridge(async (bridge) => {
      const failed = failingCommit(bridge);
      expect(count(bridge)).toBe(1);
      await expect(failed).rejects.toMatchObject({ code: '23505' });
    }));
});
