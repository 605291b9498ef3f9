import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, linesOf, repoRoot, runBwrite, tempDir } from '../helpers/cli.js';
import { describeRun, expectOneLineNoStack, importJson, parseSummary } from '../helpers/store.js';

/** A Prometheus text exposition: comments, then `name{labels} value [timestamp]` samples. */
function expectPrometheusText(text: string): void {
  const lines = linesOf(text).filter((l) => l.trim() !== '');
  expect(lines.length).toBeGreaterThan(0);
  const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+]?([0-9.eE+-]+|NaN|Inf)( -?\d+)?$/;
  let samples = 0;
  for (const line of lines) {
    if (line.startsWith('#')) {
      expect(line, line).toMatch(/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
    } else {
      expect(line, line).toMatch(sample);
      samples++;
    }
  }
  expect(samples).toBeGreaterThan(0);
}

describe('what an import prints', () => {
  it('prints one "bwrite: " summary line on stderr and nothing on stdout by default', async () => {
    const dir = await tempDir();
    const args = ['import', '--store', join(dir, 'store'), fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^bwrite: /);
    expect(run.stderr).not.toMatch(/^bwrite: error:/);
    expectOneLineNoStack(run.stderr);
  });

  it('prints nothing at all with --quiet on success', async () => {
    const dir = await tempDir();
    const args = ['import', '--store', join(dir, 'store'), '--quiet', fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
  });

  it('prints only the JSON summary with --json --quiet', async () => {
    const dir = await tempDir();
    const args = ['import', '--store', join(dir, 'store'), '-q', '--json', fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expect(run.stderr).toBe('');
    expect(parseSummary(args, run)).toMatchObject({ status: 'ok', written: 20 });
  });

  it('prints exactly one JSON object with every summary field under --json', async () => {
    const dir = await tempDir();
    const { run, summary } = await importJson(join(dir, 'store'), [fixture('people.ndjson')]);

    expect(run.code).toBe(0);
    expect(run.stdout.trim().startsWith('{')).toBe(true);
    expect(summary.status).toBe('ok');
    expect(typeof summary.runId).toBe('string');
    expect(summary.runId.length).toBeGreaterThan(0);
    expect(summary).toMatchObject({ read: 20, written: 20, skipped: 0, failed: 0, retries: 0 });
    expect(summary.bytes).toBeGreaterThan(0);
    for (const field of ['durationMs', 'itemsPerSecond'] as const) {
      expect(typeof summary[field], field).toBe('number');
      expect(summary[field], field).toBeGreaterThanOrEqual(0);
    }
    const { p50, p95, p99 } = summary.latencyMs;
    for (const p of [p50, p95, p99]) {
      expect(typeof p).toBe('number');
      expect(p).toBeGreaterThanOrEqual(0);
    }
    expect(p50).toBeLessThanOrEqual(p95);
    expect(p95).toBeLessThanOrEqual(p99);
    expect(summary).toHaveProperty('failuresFile');
  });

  it('gives each run its own runId', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const first = await importJson(store, [fixture('people.ndjson')]);
    const second = await importJson(store, [fixture('people.ndjson')]);

    expect(first.summary.runId).not.toBe(second.summary.runId);
  });

  it('prints nothing on stdout with --progress log or none when the output is not a terminal', async () => {
    const dir = await tempDir();
    for (const mode of ['none', 'log', 'auto']) {
      const args = ['import', '--store', join(dir, 'store'), '--progress', mode, fixture('people.ndjson')];
      const run = await runBwrite(args);
      expect(run.code, describeRun(args, run)).toBe(0);
      expect(run.stdout, mode).toBe('');
    }
  });

  it('writes Prometheus metrics of the run to --metrics-file', async () => {
    const dir = await tempDir();
    const metrics = join(dir, 'bwrite.prom');
    const args = ['import', '--store', join(dir, 'store'), '--metrics-file', metrics, fixture('people.ndjson')];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expectPrometheusText(await readFile(metrics, 'utf8'));
  });
});

describe('what the other commands print', () => {
  it('bwrite --version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

    const run = await runBwrite(['--version']);

    expect(run.code, describeRun(['--version'], run)).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('bwrite --help lists the commands', async () => {
    const run = await runBwrite(['--help']);

    expect(run.code, describeRun(['--help'], run)).toBe(0);
    for (const command of ['import', 'retry', 'stats', 'get', 'export', 'verify', 'gc']) {
      expect(run.stdout).toContain(command);
    }
  });

  it.each(['import', 'retry', 'stats', 'get', 'export', 'verify', 'gc'])('bwrite %s --help exits 0 and mentions --store', async (command) => {
    const run = await runBwrite([command, '--help']);

    expect(run.code, describeRun([command, '--help'], run)).toBe(0);
    expect(run.stdout).toContain('--store');
  });

  it('stats --prometheus prints valid Prometheus text', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await importJson(store, [fixture('people.ndjson')]);
    const args = ['stats', '--store', store, '--prometheus'];

    const run = await runBwrite(args);

    expect(run.code, describeRun(args, run)).toBe(0);
    expectPrometheusText(run.stdout);
  });
});
