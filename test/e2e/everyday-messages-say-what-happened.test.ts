import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, expectErrorLine, importJson, readFailures } from '../helpers/store.js';

describe('messages a user meets every day', () => {
  it('a mistyped command is one line that suggests the right one, without an escaped line end', async () => {
    const args = ['improt', 'data.ndjson'];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).not.toContain('\\u000a');
    expect(run.stderr).toMatch(/^bwrite: error: unknown command 'improt' \(Did you mean import\?\) \(see 'bwrite --help'\)\n$/);
  });

  it('retry --help lists only the options retry takes: no input format, no CSV options', async () => {
    const run = await runBwrite(['retry', '--help']);

    expect(run.code, describeRun(['retry', '--help'], run)).toBe(0);
    for (const option of ['--format', '--delimiter', '--no-header', '--columns', '--infer-types']) expect(run.stdout).not.toContain(option);
    for (const option of ['--store', '--key', '--concurrency', '--on-conflict', '--resume', '--json']) expect(run.stdout).toContain(option);
  });

  it('retry refuses a CSV option as an option it does not have, and import still takes it', async () => {
    const dir = await tempDir();
    const failures = await writeText(join(dir, 'failures.ndjson'), '');
    const args = ['retry', '--store', join(dir, 'store'), '--delimiter', ';', failures];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(2);
    expectErrorLine(run);
    expect(run.stderr).toContain("unknown option '--delimiter'");
    const csv = await writeText(join(dir, 'in.csv'), 'id;n\na;1\n');
    const imported = await importJson(join(dir, 'store'), ['--delimiter', ';', csv]);
    expect(imported.run.code, describeRun(imported.args, imported.run)).toBe(0);
  });

  it('a record whose key field is null fails saying that the field is null', async () => {
    const dir = await tempDir();
    const file = await writeText(join(dir, 'in.ndjson'), '{"id":"a"}\n{"id":null}\n{"name":"no id"}\n');

    const { run, summary, args } = await importJson(join(dir, 'store'), [file]);

    expect(run.code, describeRun(args, run)).toBe(1);
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures.map(({ line, code, error }) => ({ line, code, error }))).toEqual([
      { line: 2, code: 'E_KEY_MISSING', error: "the key field 'id' is null" },
      { line: 3, code: 'E_KEY_MISSING', error: "the record has no key field 'id'" },
    ]);
    expect(run.stderr).toContain(":2: E_KEY_MISSING: the key field 'id' is null");
  });

  it('every runtime dependency in package.json is loaded by the built CLI or library', async () => {
    const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const built = await builtSources(join(repoRoot, 'dist'));

    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const loaded = built.some((text) => text.includes(`from '${name}'`) || text.includes(`import('${name}')`) || text.includes(`require('${name}')`));
      expect(loaded, `${name} is a runtime dependency that nothing in dist/ imports`).toBe(true);
    }
  });
});

async function builtSources(dir: string): Promise<string[]> {
  const texts: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.js')) texts.push(await readFile(join(entry.parentPath, entry.name), 'utf8'));
  }
  return texts;
}
