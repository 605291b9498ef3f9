// The README's grants are all bwrite needs on PostgreSQL: a role with only CREATE on the database
// makes the store with its first import; a role with only USAGE on the schema and SELECT, INSERT,
// UPDATE and DELETE on its tables runs every command; a role with only USAGE and SELECT reads, and
// an import of its ends with exit 3 and one sentence. On a server of the test's own, whose roles
// it may make.
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { linesOf, ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { privatePostgresAvailable, PrivatePostgres } from '../helpers/private-postgres.js';

describe.runIf(privatePostgresAvailable)('the grants the README lists for PostgreSQL', () => {
  const server = privatePostgresAvailable ? new PrivatePostgres() : null;
  afterAll(() => server?.remove());

  test('are enough for the first import, for every command after it, and for reading; a reader that imports is told which privilege it lacks', async () => {
    const dir = await tempDir('bwrite-pg-grants-');
    const env = { XDG_STATE_HOME: join(dir, 'state'), PGPASSWORD: undefined };
    const bwrite = (role: string, args: string[]) => runBwrite([...args, '--store', server!.urlAs(role)], { cwd: dir, env });
    // What a command said went wrong, beside its exit code (its summary goes to stderr too).
    const outcome = async (role: string, args: string[]) => {
      const result = await bwrite(role, args);
      return { args: args.join(' '), code: result.code, problems: linesOf(result.stderr).filter((line) => /error|warning|privilege/i.test(line)) };
    };
    await server!.admin(['CREATE ROLE maker LOGIN', 'GRANT CREATE ON DATABASE postgres TO maker', 'CREATE ROLE importer LOGIN', 'CREATE ROLE reader LOGIN']);

    const first = await writeText(join(dir, 'first.ndjson'), ndjson(300, (i) => ({ id: `k${i}`, v: 'a'.repeat(i % 50) })));
    expect(await outcome('maker', ['import', first, '--key', 'id'])).toEqual({ args: `import ${first} --key id`, code: 0, problems: [] });

    await server!.admin([
      'GRANT USAGE ON SCHEMA bwrite TO importer',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bwrite TO importer',
      'GRANT USAGE ON SCHEMA bwrite TO reader',
      'GRANT SELECT ON ALL TABLES IN SCHEMA bwrite TO reader',
    ]);
    // Replaced keys, new keys and a bad line: every table an import writes.
    const second = await writeText(join(dir, 'second.ndjson'), ndjson(200, (i) => ({ id: `k${i + 200}`, v: 'b' })) + '{"id": broken\n');
    const imported = await bwrite('importer', ['import', second, '--key', 'id', '--resume', '--json']);
    expect(imported.code).toBe(1);
    expect(JSON.parse(linesOf(imported.stdout).at(-1)!)).toMatchObject({ written: 200, failed: 1 });
    const failures = (JSON.parse(linesOf(imported.stdout).at(-1)!) as { failuresFile: string }).failuresFile;
    // The bad line fails again: exit 1, and nothing else went wrong.
    expect(await outcome('importer', ['retry', failures, '--key', 'id'])).toEqual({ args: `retry ${failures} --key id`, code: 1, problems: [] });
    for (const args of [['delete', 'k0', 'k1'], ['delete', '--prefix', 'k29'], ['gc'], ['verify', '--deep'], ['stats', '--recount'], ['stats', '--prometheus']]) {
      expect(await outcome('importer', args)).toEqual({ args: args.join(' '), code: 0, problems: [] });
    }

    for (const args of [['stats'], ['get', 'k250'], ['export', '--prefix', 'k4'], ['verify', '--deep']]) {
      expect(await outcome('reader', args)).toEqual({ args: args.join(' '), code: 0, problems: [] });
    }
    expect(JSON.parse((await bwrite('reader', ['get', 'k250'])).stdout)).toEqual({ id: 'k250', v: 'b' });
    const refused = await bwrite('reader', ['import', second, '--key', 'id']);
    expect(refused.code).toBe(3);
    expect(linesOf(refused.stderr)).toHaveLength(1);
    expect(refused.stderr).toMatch(/lacks a privilege it needs \(see the README for the grants\)/);
  });
});
