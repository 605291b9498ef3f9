import { spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, runBwrite, tempDir, writeText } from '../helpers/cli.js';

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
