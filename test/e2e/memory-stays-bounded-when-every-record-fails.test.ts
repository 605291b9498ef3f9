import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, parseSummary, readFailures } from '../helpers/store.js';

// A heap far smaller than the input's failures: holding them all until the end runs out of it.
const SMALL_HEAP = '--max-old-space-size=32';
const LINES = 40_000;
const PAYLOAD = 'x'.repeat(900);

describe('an input where every record fails', () => {
  it('is read in bounded memory: lines that all lack the key run in a heap far smaller than their failures, each in the failures file once', async () => {
    const dir = await tempDir();
    const input = await writeText(join(dir, 'no-key.ndjson'), ndjson(LINES, (i) => ({ name: `n${i}`, seq: i, payload: PAYLOAD })));
    const args = ['import', input, '--store', join(dir, 'store'), '--json', '-q'];

    const run = await runBwrite(args, { env: { NODE_OPTIONS: SMALL_HEAP }, timeoutMs: 120_000 });

    expect(run.signal, describeRun(args, run)).toBeNull();
    expect(run.code, describeRun(args, run)).toBe(1);
    const summary = parseSummary(args, run);
    expect(summary).toMatchObject({ status: 'partial', read: LINES, written: 0, skipped: 0, failed: LINES });
    const failures = await readFailures(summary.failuresFile, dir);
    expect(failures).toHaveLength(LINES);
    expect(failures.every((failure) => failure.code === 'E_KEY_MISSING')).toBe(true);
    expect(failures.map((failure) => failure.line)).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
  });
});
