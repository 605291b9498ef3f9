// The 60-second form of `npm run soak` (bench/soak/): the same harness, run by the suite.
import { describe, expect, it } from 'vitest';
import { formatSummary, runSoak } from '../../bench/soak/soak.mjs';
import { binPath } from '../helpers/cli.js';

const SOAK_SECONDS = 60;

describe('a minute of overlapping imports, faults, signals, gc and stats on one store', () => {
  it(
    'four overlapping --resume importers of growing inputs, with 5 % faults, kill -9 and SIGTERM, beside gc and stats, lose nothing and fail each bad line once',
    async () => {
      const summary = await runSoak({ seconds: SOAK_SECONDS, seed: 14, bwrite: binPath });
      const report = formatSummary(summary);

      const failed = summary.checks.filter((check) => !check.ok).map((check) => check.name);
      expect(failed, report).toEqual([]);
      expect(summary.lost, report).toBe(0);
      // The soak did what it claims: otherwise a check could pass for want of trying.
      expect(summary.runs.started, report).toBeGreaterThan(20);
      expect(summary.kills, report).toBeGreaterThan(0);
      expect(summary.sigterms, report).toBeGreaterThan(0);
      expect(summary.retries, report).toBeGreaterThan(0);
      expect(summary.failedByCode.EACCES, report).toBeGreaterThan(0);
      expect(summary.badLines, report).toBeGreaterThan(0);
      expect(summary.gcRuns, report).toBeGreaterThan(3);
      expect(summary.statsRuns, report).toBeGreaterThan(10);
    },
    (SOAK_SECONDS + 240) * 1000,
  );
});
