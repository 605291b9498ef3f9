import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesOf, runBwrite, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { pgStore } from '../helpers/postgres.js';
import { waitUntil } from '../helpers/robustness.js';
import { freshPrefix, objectKey, objectKeys } from '../helpers/s3.js';
import { servicesUp } from '../helpers/shared-servers.js';
import { describeRun, sha256 } from '../helpers/store.js';

// gc on object storage killed after it removed objects but before it recorded the removal: an
// import that found one of those objects already there (and so wrote nothing) must not commit a
// row naming it. gc says a removal is under way before it removes (on a second connection to
// PostgreSQL); a batch that finds that said and never ended writes its values again first.

async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await runBwrite(args, { env });
  expect(result.code, describeRun(args, result)).toBe(0);
  return result.stdout;
}

describe.runIf(servicesUp)('gc killed in the middle of a removal from object storage', () => {
  it('leaves no row naming an object it removed: the import it raced writes the value again before it commits', async () => {
    const dir = await tempDir();
    const store = pgStore().url;
    const { url, prefix } = freshPrefix();
    const value = JSON.stringify({ id: 'x', pad: 'shared'.repeat(100) });
    const old = await writeText(join(dir, 'old.ndjson'), `${value}\n`);
    await ok(['import', old, '--store', store, '--blobs', url, '--inline-max', '100', '--key', 'k{$line}', '-q']);
    await ok(['delete', 'k1', '--store', store, '-q']);
    await sleep(1500);

    // The import finds the object there (a 412), writes nothing, and waits before committing.
    const go = join(dir, 'go');
    const input = await writeText(join(dir, 'new.ndjson'), `${value}\n`);
    const importing = startBwrite(['import', input, '--store', store, '--blobs', url, '--inline-max', '100', '--key', 'new{$line}', '-q'], { env: { BWRITE_FAULTS_PAUSE: go } });
    await waitUntil(() => existsSync(`${go}.waiting`), 'the import to have written its blob');
    const gc = await runBwrite(['gc', '--store', store], { env: { BWRITE_FAULTS_GC: 'die-after-removal' } });
    expect(gc.signal, describeRun(['gc'], gc)).toBe('SIGKILL');
    expect(await objectKeys(prefix), 'gc removed the object before it died').toEqual([]);

    await writeFile(go, '');
    const result = await importing.result;
    expect(result.code, result.stderr).toBe(0);
    expect(await objectKeys(prefix)).toEqual([objectKey(prefix, sha256(value))]);
    expect(linesOf(await ok(['verify', '--deep', '--store', store]))[0]).toMatch(/^ok: 1 item checked \(deep\)/);
    expect(await ok(['get', 'new1', '--store', store])).toBe(`${value}\n`);
  });
});
