import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/metrics/histogram.js';

describe('LatencyHistogram', () => {
  it('estimates quantiles within its bucket width (~4.4 %)', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) histogram.record(ms);
    for (const [q, exact] of [[0.5, 500], [0.95, 950], [0.99, 990]] as const) {
      const estimate = histogram.quantile(q)!;
      expect(estimate).toBeGreaterThanOrEqual(exact);
      expect(estimate / exact).toBeLessThan(1.05);
    }
  });

  it('is empty until something is recorded', () => {
    expect(new LatencyHistogram().quantile(0.5)).toBeNull();
  });

  it('keeps cumulative Prometheus buckets that end with +Inf at the count', () => {
    const histogram = new LatencyHistogram();
    [0.05, 0.3, 2, 20_000].forEach((ms) => histogram.record(ms));
    const buckets = histogram.cumulativeBuckets();
    expect(buckets.find((b) => b.le === '0.0001')!.count).toBe(1);
    expect(buckets.find((b) => b.le === '0.0005')!.count).toBe(2);
    expect(buckets.find((b) => b.le === '0.0025')!.count).toBe(3);
    expect(buckets.find((b) => b.le === '10')!.count).toBe(3);
    expect(buckets.at(-1)).toEqual({ le: '+Inf', count: 4 });
    const counts = buckets.map((b) => b.count);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
  });
});
