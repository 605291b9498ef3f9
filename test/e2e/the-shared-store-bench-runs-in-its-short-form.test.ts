// The benchmark of the shared store (bench/shared.mjs, its floors, and bwrite into the servers of
// scripts/services) runs end to end in its short form: every configuration measured, none ending in
// an error. Its figures are not judged here (no timed assertion): `npm run bench` does that.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { pgUrl } from '../helpers/postgres.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Row {
  name: string;
  items?: number;
  itemsPerSecond?: number;
  peakRssMb?: number;
  error?: string;
}

describe.runIf(Boolean(pgUrl && process.env.BWRITE_TEST_S3_URL))('the shared-store benchmark', () => {
  test('--quick --only shared measures every configuration, bwrite beside its floors, without an error', () => {
    const run = spawnSync(process.execPath, ['bench/run.mjs', '--quick', '--only', 'shared'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    expect({ status: run.status, errors: run.stderr.split('\n').filter((line) => /ERROR/.test(line)) }).toEqual({ status: 0, errors: [] });
    const results = JSON.parse(readFileSync(join(ROOT, 'bench', '.out', 'results-quick.json'), 'utf8')) as { shared: { rows: Row[] } };
    const rows = results.shared.rows;
    expect(rows.map((row) => row.name).sort()).toEqual(['bwrite pg', 'bwrite s3', 'bwrite s3 + pg', 'floor pg COPY', 'floor s3 PUT']);
    for (const row of rows) {
      expect(row.error, row.name).toBeUndefined();
      expect(row.items, row.name).toBeGreaterThan(0);
      expect(row.itemsPerSecond, row.name).toBeGreaterThan(0);
      expect(row.peakRssMb, row.name).toBeGreaterThan(0);
    }
  }, 300_000);
});
