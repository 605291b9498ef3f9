import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the text exposition format: every sample belongs to a declared family. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    const type = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    expect(sample, line).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const pair of (sample![2] ?? '').split(',').filter(Boolean)) {
      const [name, quoted] = pair.split('=');
      labels[name!] = JSON.parse(quoted!);
    }
    const name = sample![1]!;
    const family = [...types.keys()].find((f) => name === f || name === `${f}_bucket` || name === `${f}_sum` || name === `${f}_count`);
    expect(family, `${name} has a # TYPE`).toBeDefined();
    samples.push({ name, labels, value: Number(sample![3]) });
  }
  return { types, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('--metrics-file', () => {
  it('writes valid Prometheus text with outcome counters, retries, bytes and a latency histogram', async () => {
    const dir = await tempDir();
    const input = await writeText(join(dir, 'in.ndjson'), ndjson(300, (i) => (i % 100 === 5 ? { nokey: i } : { id: `k${i}` })));
    const metrics = join(dir, 'bwrite.prom');
    const result = await runBwrite(['import', input, '--store', join(dir, 'store'), '--metrics-file', metrics, '--json', '-q'], {
      env: { BWRITE_FAULTS: 'blob:EAGAIN:0.1', BWRITE_FAULTS_SEED: '3' },
    });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    const text = await readFile(metrics, 'utf8');
    const { types, samples } = parseExposition(text);
    expect(types.get('bwrite_items_total')).toBe('counter');
    expect(types.get('bwrite_write_duration_seconds')).toBe('histogram');
    expect(value(samples, 'bwrite_items_total', { outcome: 'written' })).toBe(summary.written);
    expect(value(samples, 'bwrite_items_total', { outcome: 'failed' })).toBe(3);
    expect(value(samples, 'bwrite_retries_total')).toBe(summary.retries);
    expect(summary.retries).toBeGreaterThan(0);
    expect(value(samples, 'bwrite_written_bytes_total')).toBe(summary.bytes);
    expect(value(samples, 'bwrite_write_duration_seconds_count')).toBe(summary.written);
    expect(value(samples, 'bwrite_write_duration_seconds_bucket', { le: '+Inf' })).toBe(summary.written);
    expect(value(samples, 'bwrite_run_ok')).toBe(0);
    expect(await readdir(dir)).not.toContain(expect.stringMatching(/\.tmp$/));
    if (hasPromtool) expect(spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' }).status).toBe(0);
  });

  it('keeps the last success time across a failed run', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const metrics = join(dir, 'bwrite.prom');
    const good = await writeText(join(dir, 'good.ndjson'), ndjson(5, (i) => ({ id: `g${i}` })));
    const bad = await writeText(join(dir, 'bad.ndjson'), 'not json\n');
    expect((await runBwrite(['import', good, '--store', store, '--metrics-file', metrics, '-q'])).code).toBe(0);
    const first = value(parseExposition(await readFile(metrics, 'utf8')).samples, 'bwrite_last_success_timestamp_seconds');
    expect(first).toBeGreaterThan(Date.now() / 1000 - 60);
    expect((await runBwrite(['import', bad, '--store', store, '--metrics-file', metrics, '-q'])).code).toBe(1);
    const after = parseExposition(await readFile(metrics, 'utf8')).samples;
    expect(value(after, 'bwrite_last_success_timestamp_seconds')).toBe(first);
    expect(value(after, 'bwrite_run_ok')).toBe(0);
  });
});

describe('stats --prometheus', () => {
  it('prints the store as valid Prometheus text', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const input = await writeText(join(dir, 'in.ndjson'), ndjson(40, (i) => ({ id: `k${i}`, v: i % 4 })));
    expect((await runBwrite(['import', input, '--store', store, '-q'])).code).toBe(0);
    const result = await runBwrite(['stats', '--prometheus', '--store', store]);
    expect(result.code).toBe(0);
    const { samples } = parseExposition(result.stdout);
    expect(value(samples, 'bwrite_store_items')).toBe(40);
    expect(value(samples, 'bwrite_store_items_by_type', { type: 'json' })).toBe(40);
    if (hasPromtool) expect(spawnSync('promtool', ['check', 'metrics'], { input: result.stdout, encoding: 'utf8' }).status).toBe(0);
  });
});

describe('--metrics-file that cannot be written', () => {
  it('a directory that does not exist is a usage error before anything is imported: exit 2, one line, no store', async () => {
    const dir = await tempDir();
    const input = await writeText(join(dir, 'in.ndjson'), '{"id":"a"}\n');
    const args = ['import', input, '--store', join(dir, 'store'), '--metrics-file', join(dir, 'nonexistent-dir', 'm.prom')];

    const run = await runBwrite(args);

    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toBe(`bwrite: error: --metrics-file ${join(dir, 'nonexistent-dir', 'm.prom')}: the directory ${join(dir, 'nonexistent-dir')} does not exist\n`);
    expect(await readdir(dir)).toEqual(['in.ndjson']);
  });

  it('a path whose directory is a file, or that is a directory, is a usage error too', async () => {
    const dir = await tempDir();
    const input = await writeText(join(dir, 'in.ndjson'), '{"id":"a"}\n');
    for (const [metrics, why] of [
      [join(input, 'm.prom'), 'is not a directory'],
      [dir, 'it is a directory'],
    ] as const) {
      const run = await runBwrite(['import', input, '--store', join(dir, 'store'), '--metrics-file', metrics]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^bwrite: error: --metrics-file .*${why}\n$`));
    }
  });

  it('a directory removed during the run: the import commits, the summary is printed, then one error line, exit 2', async () => {
    const dir = await tempDir();
    const metricsDir = join(dir, 'textfile');
    await mkdir(metricsDir);
    const running = startBwrite(['import', '-', '--store', join(dir, 'store'), '--metrics-file', join(metricsDir, 'm.prom'), '--json'], { keepStdinOpen: true });
    running.child.stdin!.write('{"id":"a"}\n');
    // The store exists once the up-front checks have passed.
    while (!existsSync(join(dir, 'store', 'index.db'))) await sleep(50);
    await rm(metricsDir, { recursive: true });
    running.child.stdin!.end('{"id":"b"}\n');

    const run = await running.result;

    expect(run.code, run.stderr).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'ok', written: 2 });
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^bwrite: ok: read 2, written 2/);
    expect(lines[1]).toMatch(/^bwrite: error: could not write --metrics-file .*m\.prom: ENOENT.*; the run itself is committed as summarised$/);
    expect(run.stderr).not.toContain('unexpected');
  });
});

